"""`Function` and `Context`: how one differentiable operation is written.

An op is a subclass of `Function` with two static methods:

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):          # backend arrays in, a backend array out
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):         # a Tensor in, one gradient per input out
            a, b = ctx.saved_tensors
            return grad * b, grad * a

`Mul.apply(x, y)` unwraps the Tensors, runs `forward`, wraps the result and,
when a gradient is wanted, records the node: the Context remembers the inputs
and what forward saved. Arrays saved in forward come back in backward as
Tensors: an input's array as that input Tensor, the output array as the
output Tensor, anything else as a constant. Because `backward` is written with
Tensor operations, running it with grad mode on (`create_graph=True`) records
the backward pass too, and second derivatives follow.

`backward` returns one gradient per positional argument of `forward` (None
where there is none), as a Tensor or a backend array, in the shape of the
output: the engine sums it back to the input's shape (unbroadcasting).
Ops whose backward uses saved intermediates set `once_differentiable = True`.
"""
from . import anomaly, backend, grad_mode, scope


class Context:
    """One recorded node: the op, its inputs, and what forward saved for backward."""

    __slots__ = ("fn", "xp", "inputs", "module", "site", "_saved", "_freed", "__dict__")

    def __init__(self, fn, xp):
        self.fn = fn
        self.xp = xp
        self.inputs = ()
        self.module = None
        self.site = None
        self._saved = ()
        self._freed = False

    @property
    def name(self):
        """Short name of the op, e.g. 'matmul'."""
        return self.fn.op_name()

    def needs_grad(self, i):
        """Whether input `i` wants a gradient (skip work for the ones that do not)."""
        return getattr(self.inputs[i], "requires_grad", False)

    def save_for_backward(self, *values):
        """Keep arrays (or anything else) for backward."""
        self._saved = values

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(
                f"backward through op '{self.name}' a second time: its saved tensors were "
                "freed by the first backward. Pass retain_graph=True to the first "
                "backward() if you need to backpropagate through the graph twice."
            )
        return self._saved

    def free(self):
        """Drop saved tensors once backward has used them."""
        self._saved = ()
        self._freed = True

    def __repr__(self):
        where = f" in {self.module}" if self.module else ""
        return f"<{self.name}{where}>"


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    once_differentiable = False
    differentiable = True  # False for comparisons: their output never requires grad

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def op_name(cls):
        return getattr(cls, "name", None) or cls.__name__.lower()

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the op on Tensors (Python scalars and NumPy arrays mix in) and record it."""
        from .tensor import Tensor  # at call time: tensor.py imports this module

        # One pass over the arguments: the device, whether any input wants a
        # gradient, and whether NumPy/CuPy arrays need lifting into Tensors.
        device, wants_grad, has_arrays = None, False, False
        for a in args:
            if isinstance(a, Tensor):
                d = a.device
                if device is None:
                    device = d
                elif d != device:
                    _raise_mixed_devices(cls, args)
                wants_grad = wants_grad or a._requires_grad
            elif _is_array(a):
                has_arrays = True
        device = device or "cpu"
        if has_arrays:
            args = _lift_arrays(args, [a for a in args if isinstance(a, Tensor)], device)
        raw = [a.data if isinstance(a, Tensor) else a for a in args]
        ctx = Context(cls, backend.xp_for(device))
        try:
            out = cls.forward(ctx, *raw, **kwargs)
        except (ValueError, IndexError) as e:
            shapes = ", ".join(str(tuple(a.shape)) for a in args if isinstance(a, Tensor))
            message = str(e) if str(e).startswith(cls.op_name() + ":") else f"{cls.op_name()}: {e}"
            raise type(e)(f"{message} (input shapes {shapes})") from None
        if not isinstance(out, ctx.xp.ndarray):  # NumPy turns 0-d results into scalars
            out = ctx.xp.asarray(out)

        needs_grad = wants_grad and cls.differentiable and grad_mode.is_grad_enabled()
        result = Tensor._wrap(out, requires_grad=needs_grad)
        if anomaly.is_anomaly_enabled():
            ctx.site = anomaly.creation_site()
            if not anomaly.in_backward():  # inside a backward, check_backward names the op
                anomaly.check_forward(ctx, raw, out)
        if needs_grad:
            ctx.inputs = args
            ctx.module = scope.current_module()
            ctx._saved = _resolve_saved(ctx._saved, args, raw, out, result)
            result._ctx = ctx
        return result


def _is_array(a):
    return hasattr(a, "__array_interface__") or hasattr(a, "__cuda_array_interface__")


def _lift_arrays(args, tensors, device):
    """Turn NumPy/CuPy arrays mixed into an op into Tensors on the op's device.

    A floating array takes the dtype of the op's first floating Tensor (so a
    float64 NumPy array never silently promotes float32 work), else the default.
    """
    from .tensor import Tensor

    float_dtype = next((t.dtype for t in tensors if t.dtype.kind == "f"), None)
    lifted = []
    for a in args:
        if _is_array(a):
            dtype = float_dtype if float_dtype is not None and a.dtype.kind == "f" else None
            a = Tensor(a, dtype=dtype, device=device)
        lifted.append(a)
    return tuple(lifted)


def _raise_mixed_devices(fn, args):
    from .tensor import Tensor

    described = ", ".join(f"{tuple(t.shape)} on {t.device}" for t in args if isinstance(t, Tensor))
    raise RuntimeError(
        f"{fn.op_name()}: inputs are on different devices ({described}); "
        "move them to one device with .to(device) first"
    )


def _resolve_saved(saved, args, raw, out, result):
    """Map arrays saved in forward to the Tensors they belong to."""
    from .tensor import Tensor

    owner = {id(array): arg for arg, array in zip(args, raw) if array is not arg}  # input arrays -> their Tensors
    owner[id(out)] = result
    return tuple(
        owner[id(value)] if id(value) in owner else Tensor._wrap(value) if _is_array(value) else value
        for value in saved
    )
