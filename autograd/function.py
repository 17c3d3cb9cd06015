"""`Function` and `Context`: how one differentiable operation is written.

An op is a subclass of `Function` with two static methods:

    class Mul(Function):
        @staticmethod
        def forward(ctx, a, b):          # backend arrays in, a backend array out
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):         # the output's gradient in, one gradient per input out
            a, b = ctx.saved_tensors
            return grad * b, grad * a

`Mul.apply(x, y)` unwraps the Tensors, runs `forward`, wraps the result and,
when a gradient is wanted, records the node: the Context remembers the inputs
and what forward saved.

`backward` is written once and runs in two ways:

- a plain `loss.backward()` hands it backend arrays: `grad` and the saved
  values are NumPy/CuPy arrays, so each line is one array operation and
  nothing is recorded (this is what keeps the engine fast);
- `loss.backward(create_graph=True)` hands it Tensors, so the same lines are
  recorded as ops and second derivatives follow. Saved arrays then come back
  as Tensors: an input's array as that input Tensor, the output's as the
  output Tensor, anything else as a constant.

So a backward uses what arrays and Tensors share: the operators `+ - * / ** @`,
`.sum/.mean/.max(axis, keepdims=...)`, `.reshape`, `.transpose`, `.swapaxes`,
`.astype`, indexing, and the functions in `ctx.F` (`where`, `exp`, `log`,
`broadcast_to`, `split`, ...: NumPy/CuPy for arrays, `ops` for Tensors).

`backward` returns one gradient per positional argument of `forward` (None
where there is none), in the shape of the output: the engine sums it back to
the input's shape (unbroadcasting). It must not change `grad` in place: the
same array may be on its way to other nodes. Ops whose backward uses saved
intermediates set `once_differentiable = True`; they only ever see arrays.
A Function whose backward needs Tensor-only methods (`.exp()`, `.unsqueeze()`)
sets `tensor_backward = True` and always receives Tensors, at some cost in speed.
"""
import numpy as np

from . import anomaly, backend, grad_mode, scope
from .tensor import Tensor, _ops, _VersionCounter


class Context:
    """One recorded node: the op, its inputs, and what forward saved for backward.

    Ops may set their own attributes on it in forward (`ctx.axis = axis`).
    """

    # Class-level defaults: a node costs one small object, its attributes set only when used.
    inputs = ()
    module = None
    role = None  # set by `scope.mark` where the model names the part this node plays
    site = None
    recording = False  # True while backward runs on Tensors (create_graph)
    last_use = False  # True while backward runs for the last time (no retain_graph)
    _saved = ()
    _raw = ()
    _versions = None  # each input's and the output's version when forward saved them
    _changes_seen = 0  # the count of in-place changes anywhere, then (see tensor._VersionCounter)
    _freed = False
    _output = None

    def __init__(self, fn, xp):
        self.fn = fn
        self.xp = xp

    @property
    def name(self):
        """Short name of the op, e.g. 'matmul'."""
        return self.fn.op_name()

    @property
    def F(self):
        """Functions for backward that match grad's type: `numpy`/`cupy` for arrays, `ops` for Tensors."""
        return _ops() if self.recording else self.xp

    def needs_grad(self, i):
        """Whether input `i` wants a gradient (skip work for the ones that do not)."""
        inp = self.inputs[i]
        return isinstance(inp, Tensor) and inp._requires_grad

    def save_for_backward(self, *values):
        """Keep arrays (or anything else) for backward.

        When `ctx.last_use` is True in backward, nothing will read them again, so
        an array the op made itself (never an input's or the output's) may be
        reused in place for the gradient.
        """
        self._saved = values

    @property
    def saved_tensors(self):
        """What forward saved: arrays in a plain backward, Tensors when it is recorded."""
        if self._freed:
            raise RuntimeError(
                f"backward through op '{self.name}' a second time: its saved tensors were "
                "freed by the first backward. Pass retain_graph=True to the first "
                "backward() if you need to backpropagate through the graph twice."
            )
        if not self.recording:
            return self._saved
        return tuple(self._as_tensor(value) for value in self._saved)

    def _as_tensor(self, value):
        """The Tensor a saved array belongs to: an input, the output, or a new constant."""
        for inp, seen in zip(self.inputs, self._raw):
            if seen is value and isinstance(inp, Tensor):
                return inp
        if self._output is not None and self._output._data is value:
            return self._output
        return Tensor._wrap(self.xp.asarray(value)) if _is_array(value) else value

    def free(self):
        """Drop saved tensors once backward has used them."""
        self._saved = self._raw = ()
        self._freed = True

    def __repr__(self):
        where = f" in {self.module}" if self.module else ""
        return f"<{self.name}{where}>"


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    once_differentiable = False
    differentiable = True  # False for comparisons: their output never requires grad
    tensor_backward = False  # True: backward always gets Tensors (slower; for Tensor-only methods)
    # What pictures of the graph say about the op (tinygrad_tf.viz reads these):
    broadcasting = False  # inputs broadcast to the output's shape; backward's gradient is summed back
    commutative = False  # the order of its tensor inputs does not matter (no numbers on their edges)
    role = None  # the part the op plays wherever it is used; a model names most roles at the call
    rule = None  # its backward in one line, e.g. "dA = dC·Bᵀ, dB = Aᵀ·dC"

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
        # One pass over the arguments: their arrays, the array type (which is the
        # device), and whether any input wants a gradient.
        raw, kind, wants_grad, first, first_data = [], None, False, None, None
        for a in args:
            if isinstance(a, Tensor):
                data = a._data
                if first is None:
                    kind, first, first_data = type(data), a, data
                else:
                    if type(data) is not kind and _on_gpu(type(data)) != _on_gpu(kind):
                        _raise_mixed_devices(cls, args)
                    # x and x.detach() share one array: keep them apart (see _as_tensor). This is the
                    # two-argument case inline; _separate_shared_data below handles longer argument lists.
                    if data is first_data and a is not first:
                        data = data.view()
                wants_grad = wants_grad or a._requires_grad
                raw.append(data)
            elif type(a) not in _PLAIN and _is_array(a):
                return cls.apply(*_lift_arrays(args), **kwargs)
            else:
                raw.append(a)
        if len(args) > 2:
            _separate_shared_data(args, raw)
        xp = np if kind is np.ndarray or not _on_gpu(kind) else backend.xp_for("cuda")
        ctx = Context(cls, xp)
        try:
            out = cls.forward(ctx, *raw, **kwargs)
        except (ValueError, IndexError) as e:
            shapes = ", ".join(str(tuple(a.shape)) for a in args if isinstance(a, Tensor))
            message = str(e) if str(e).startswith(cls.op_name() + ":") else f"{cls.op_name()}: {e}"
            raise type(e)(f"{message} (input shapes {shapes})") from None
        if not isinstance(out, xp.ndarray):  # NumPy turns 0-d results into scalars
            scalar, out = out, xp.asarray(out)
            ctx._saved = tuple(out if value is scalar else value for value in ctx._saved)

        needs_grad = wants_grad and cls.differentiable and grad_mode.is_grad_enabled()
        result = Tensor._wrap(out, needs_grad)
        if out.base is not None:  # a view (reshape, transpose, slice): maybe of an input's memory
            _share_version_counter(result, args, raw)
        if anomaly.is_anomaly_enabled():
            ctx.site, ctx.module = anomaly.creation_site(), scope.current_module()
            if not anomaly.in_backward():  # inside a backward, check_backward names the op
                anomaly.check_forward(ctx, args, raw, out)
        if needs_grad:
            ctx.inputs = args
            ctx._raw = raw  # what forward saw, to map saved arrays back to inputs (_as_tensor)
            ctx.module = scope.current_module()
            result._ctx = ctx
            if ctx._saved:  # backward checks that nothing it reads was changed in place since (engine)
                ctx._versions = _versions_of(args, result)
                ctx._changes_seen = _VersionCounter.changes
        return result


_PLAIN = frozenset((int, float, bool, str, tuple, list, type(None), slice))  # never arrays: skip the probe


def _versions_of(args, result):
    """Each Tensor argument's version, then the result's (None for other arguments).

    `Tensor._version` read off the counter directly: most tensors have none (version 0).
    """
    versions = []
    for a in args:
        if isinstance(a, Tensor):
            counter = a._version_counter
            versions.append(0 if counter is None else counter.value)
        else:
            versions.append(None)
    versions.append(result._version)
    return versions


def _on_gpu(array_type):
    """Whether data of this type lives on the GPU (NumPy arrays and scalars do not; None: no data)."""
    return array_type is not None and array_type is not np.ndarray and not issubclass(array_type, np.generic)


def _separate_shared_data(args, raw):
    """Give each distinct Tensor argument its own array object (a view where two share one)."""
    seen = {}
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            owner = seen.setdefault(id(raw[i]), a)
            if owner is not a:
                raw[i] = raw[i].view()


def _share_version_counter(result, args, raw):
    """Let `result`, a view of an input's array, count that input's in-place changes (as in PyTorch)."""
    owner = result._data.base  # NumPy and CuPy point a view at the array that owns the memory
    for a, array in zip(args, raw):
        if isinstance(a, Tensor) and (array is owner or array.base is owner):
            result._version_counter = a._shared_version_counter()
            return


def _is_array(a):
    return hasattr(a, "__array_interface__") or hasattr(a, "__cuda_array_interface__")


def _lift_arrays(args):
    """The arguments with NumPy/CuPy arrays turned into Tensors on the op's device.

    The device is the first Tensor's (else "cpu"). A floating array takes the
    dtype of the first floating Tensor (so a float64 NumPy array never silently
    promotes float32 work), else the default.
    """
    tensors = [a for a in args if isinstance(a, Tensor)]
    device = tensors[0].device if tensors else "cpu"
    float_dtype = next((t.dtype for t in tensors if t.dtype.kind == "f"), None)
    lifted = []
    for a in args:
        if not isinstance(a, Tensor) and type(a) not in _PLAIN and _is_array(a):
            dtype = float_dtype if float_dtype is not None and a.dtype.kind == "f" else None
            a = Tensor(a, dtype=dtype, device=device)
        lifted.append(a)
    return tuple(lifted)


def _raise_mixed_devices(fn, args):
    described = ", ".join(f"{tuple(t.shape)} on {t.device}" for t in args if isinstance(t, Tensor))
    raise RuntimeError(
        f"{fn.op_name()}: inputs are on different devices ({described}); "
        "move them to one device with .to(device) first"
    )
