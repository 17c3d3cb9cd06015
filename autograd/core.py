"""The engine in one file: Tensor, Function, and backpropagation.

Read it top to bottom. A `Tensor` holds an array (NumPy on "cpu", CuPy on
"cuda") and the node of the op that made it. Every op is a `Function` with a
`forward` (arrays in, an array out) and a `backward` (the output's gradient
in, one per input out). `Function.apply` runs the forward and records the
node; `backward_steps` walks the recorded graph from an output to its leaves:

1. Order the tensors so that each comes after every tensor it was made from
   (an iterative depth-first search: deep graphs overflow Python's recursion).
2. Start with d(out)/d(out) = 1, or the gradient given.
3. Visit the tensors from the output down. A tensor's gradient is complete
   once every tensor made from it has been visited, which the order
   guarantees. Call its op's backward, fit each input's gradient to that
   input's shape (summing over the axes broadcasting added: once, here, for
   every op) and add it to what the input has collected so far.
4. Leaves that require grad add their gradient to `.grad`.

Everything else the engine does lives in a file named for it, called from
here by name: `versions` (in-place changes to saved values), `recorded`
(create_graph: a backward that is itself recorded), `lifting` (arrays, lists
and devices), `anomaly` (detect_anomaly), `hooks` (register_hook) and
`tensor_api` (`.item()`, `.to()`, printing); the ops call `dtypes` (type
promotion). A learner can skip all of them.
"""
import functools

from . import anomaly, backend, grad_mode, hooks, lifting, recorded, scope, versions
from .tensor_api import TensorAPI


@functools.cache
def _ops():
    """The `ops` package, for Tensor's operator sugar below: imported on first use, as `ops` imports this module."""
    import ops
    return ops


class Tensor(TensorAPI):
    """An n-dimensional array that can record the operations made from it.

    Args:
        data: a number, nested list, NumPy or CuPy array, or Tensor (copied).
        requires_grad: record operations on this (floating-point) tensor so backward() reaches it.
        dtype: "float32", "int64", "bool", ...; by default floats become float32, integers int64.
        device: "cpu" (NumPy) or "cuda" (CuPy); by default where the data is.
    """

    __slots__ = ("_data", "grad", "_requires_grad", "_ctx", "_hooks", "_retains_grad", "name",
                 "_version_counter", "__weakref__")

    __array_ufunc__ = None  # `array / x` calls our reflected operator (NEP 13): the result stays in the graph

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        self._data = lifting.new_array(data.data if isinstance(data, Tensor) else data, dtype, device)
        self._init(requires_grad=False)
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array, requires_grad=False):  # a Tensor around an existing array: no copy, no dtype change
        t = cls.__new__(cls)
        t._data = array
        t._init(requires_grad)
        return t

    def _init(self, requires_grad):
        self.grad = None  # d(output)/d(this tensor) after output.backward(), added up over backward() calls
        self._ctx = None  # the node (a Context) of the op that made this tensor; None for a leaf
        self._requires_grad = requires_grad
        self._hooks, self._retains_grad, self._version_counter, self.name = None, False, None, None

    @property
    def data(self):  # the backend array: numpy.ndarray or cupy.ndarray
        return self._data

    @data.setter
    def data(self, array):
        versions.replace_data(self, array)  # new values count as an in-place change

    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Compute the gradient of this tensor with respect to every leaf that requires one, into `.grad`.
        `grad` may be omitted for a single value (it is then 1); `retain_graph` keeps the saved values
        for another backward; `create_graph` records this backward too, for second derivatives."""
        for _ in backward_steps(self, grad, retain_graph, create_graph):
            pass

    # ---- operator sugar: each calls the op of the same name in `ops` ----
    def __add__(self, other): return _ops().add(self, other)
    def __radd__(self, other): return _ops().add(other, self)
    def __sub__(self, other): return _ops().sub(self, other)
    def __rsub__(self, other): return _ops().sub(other, self)
    def __mul__(self, other): return _ops().mul(self, other)
    def __rmul__(self, other): return _ops().mul(other, self)
    def __truediv__(self, other): return _ops().div(self, other)
    def __rtruediv__(self, other): return _ops().div(other, self)
    def __pow__(self, other): return _ops().pow(self, other)
    def __rpow__(self, other): return _ops().pow(other, self)
    def __matmul__(self, other): return _ops().matmul(self, other)
    def __rmatmul__(self, other): return _ops().matmul(other, self)
    def __neg__(self): return _ops().neg(self)
    def __abs__(self): return _ops().abs(self)
    def __getitem__(self, index): return _ops().getitem(self, index)
    def __eq__(self, other): return _ops().equal(self, other)
    def __ne__(self, other): return _ops().not_equal(self, other)
    def __lt__(self, other): return _ops().less(self, other)
    def __le__(self, other): return _ops().less_equal(self, other)
    def __gt__(self, other): return _ops().greater(self, other)
    def __ge__(self, other): return _ops().greater_equal(self, other)
    def __and__(self, other): return _ops().logical_and(self, other)
    def __or__(self, other): return _ops().logical_or(self, other)
    def __invert__(self): return _ops().logical_not(self)
    __hash__ = object.__hash__  # == is an element-wise op (as in NumPy), so a Tensor hashes by identity

    def sum(self, axis=None, keepdims=False): return _ops().sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return _ops().mean(self, axis, keepdims)
    def var(self, axis=None, keepdims=False, ddof=0): return _ops().var(self, axis, keepdims, ddof)
    def max(self, axis=None, keepdims=False): return _ops().max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return _ops().min(self, axis, keepdims)
    def reshape(self, *shape): return _ops().reshape(self, *shape)
    def transpose(self, *axes): return _ops().transpose(self, *axes)
    def swapaxes(self, axis1, axis2): return _ops().swapaxes(self, axis1, axis2)
    def squeeze(self, axis=None): return _ops().squeeze(self, axis)
    def unsqueeze(self, axis): return _ops().unsqueeze(self, axis)
    def broadcast_to(self, shape): return _ops().broadcast_to(self, shape)
    def astype(self, dtype): return _ops().cast(self, dtype)
    def exp(self): return _ops().exp(self)
    def log(self): return _ops().log(self)
    def sqrt(self): return _ops().sqrt(self)
    def abs(self): return _ops().abs(self)
    def tanh(self): return _ops().tanh(self)
    def sigmoid(self): return _ops().sigmoid(self)
    def relu(self): return _ops().relu(self)
    def clip(self, min=None, max=None): return _ops().clip(self, min, max)
    def softmax(self, axis=-1): return _ops().softmax(self, axis)
    def log_softmax(self, axis=-1): return _ops().log_softmax(self, axis)
    def masked_fill(self, mask, value): return _ops().masked_fill(self, mask, value)


class Context:
    """One recorded node: the op, its inputs, and what forward saved for backward.

    Ops may keep their own attributes on it in forward (`ctx.axis = axis`).
    """

    inputs = ()  # the op's arguments as given: Tensors, numbers, ...
    module = role = site = None  # where in the model (`scope`), the part it plays ("Q"), the user's line (`anomaly`)
    recording = False  # True while backward runs on Tensors (create_graph, see `recorded`)
    last_use = False  # True in the last backward (no retain_graph): a fast form may reuse its own arrays
    _saved = _raw = ()  # what forward saved; the arrays it saw, one per argument
    _versions, _changes_seen, _freed, _output = None, 0, False, None  # `versions`, `free`, `recorded`

    def __init__(self, fn, xp):
        self.fn = fn  # the Function subclass
        self.xp = xp  # numpy or cupy: the array functions for this node's device

    @property
    def name(self):  # the op's short name, e.g. 'matmul'
        return self.fn.op_name()

    @property
    def F(self):  # functions for backward that match grad's type: numpy/cupy for arrays, `ops` for Tensors
        return _ops() if self.recording else self.xp

    def needs_grad(self, i):  # whether input i wants a gradient (skip the work for one that does not)
        inp = self.inputs[i]
        return isinstance(inp, Tensor) and inp._requires_grad

    def save_for_backward(self, *values):
        """Keep arrays (or anything else) for backward: `ctx.saved_tensors` gives them back."""
        self._saved = values

    @property
    def saved_tensors(self):
        """What forward saved: arrays in a plain backward, Tensors when the backward is recorded."""
        if self._freed:
            raise RuntimeError(
                f"backward through op '{self.name}' a second time: its saved tensors were freed by the first "
                "backward. Pass retain_graph=True to the first backward() to backpropagate through the graph twice.")
        return recorded.saved_as_tensors(self, Tensor) if self.recording else self._saved

    def free(self):  # drop the saved values once backward has used them
        self._saved = self._raw = ()
        self._freed = True

    def __repr__(self):  # <softmax in encoder.layers.0.self_attn>
        return f"<{self.name}" + (f" in {self.module}>" if self.module else ">")


class Function:
    """Base class of every differentiable operation: a subclass with two static methods.

        class Mul(Function):
            @staticmethod
            def forward(ctx, a, b):      # backend arrays in, a backend array out
                ctx.save_for_backward(a, b)
                return a * b

            @staticmethod
            def backward(ctx, grad):     # the output's gradient in, one gradient per input out
                a, b = ctx.saved_tensors
                return grad * b, grad * a

    `backward` returns one gradient per positional argument of forward (None
    where there is none), in the output's shape (the engine sums it back to
    the input's shape), and never changes `grad` in place. Written with
    operators, `.sum`, `.reshape` and `ctx.F`, it runs on Tensors too when the
    backward is itself recorded (`recorded`); a backward that cannot sets
    `once_differentiable = True`.
    """

    once_differentiable = False
    differentiable = True  # False for comparisons: their output never requires grad
    tensor_backward = False  # True: backward always gets Tensors (for Tensor-only methods)
    # For pictures of the graph (tinygrad_tf.viz): inputs broadcast to the output's shape; the inputs' order does
    # not matter; the part the op plays wherever it is used; its backward in one line ("dA = dC·Bᵀ, dB = Aᵀ·dC").
    broadcasting = commutative = False
    role = rule = None

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(f"{ctx.name}: forward is not written")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError(f"{ctx.name}: backward is not written")

    @classmethod
    def op_name(cls):
        return getattr(cls, "name", None) or cls.__name__.lower()

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run the op on Tensors (numbers mix in): unwrap, forward, wrap, record."""
        # 1. Unwrap: each Tensor's array; whether any input wants a gradient.
        raw, wants_grad = [], False
        for a in args:
            if isinstance(a, Tensor):
                raw.append(a._data)
                wants_grad = wants_grad or a._requires_grad
            elif lifting.is_array(a):  # a NumPy/CuPy array: made a Tensor on the op's device
                return cls.apply(*lifting.lift_arrays(args, Tensor), **kwargs)
            else:
                raw.append(a)
        xp = lifting.array_module(cls, args, raw)  # numpy or cupy; raises for inputs on two devices
        lifting.separate_shared_arrays(args, raw)  # x and x.detach() in one op: each its own array object
        # 2. Forward, on arrays.
        ctx = Context(cls, xp)
        try:
            out = cls.forward(ctx, *raw, **kwargs)
        except (ValueError, IndexError) as e:
            raise lifting.named_error(e, cls, args, raw) from None
        out = lifting.as_array(ctx, out)  # NumPy turns 0-d results into scalars
        # 3. Wrap the result.
        needs_grad = wants_grad and cls.differentiable and grad_mode.is_grad_enabled()
        result = Tensor._wrap(out, needs_grad)
        versions.on_forward(result, args, raw)  # a view shares its base's count of in-place changes
        if anomaly.is_anomaly_enabled():
            anomaly.on_forward(ctx, args, raw, out)
        # 4. Record the node, when a gradient is wanted.
        if needs_grad:
            ctx.inputs, ctx._raw, ctx.module = args, raw, scope.current_module()
            result._ctx = ctx
            versions.note(ctx, args, result)  # backward checks nothing it saved changed since
        return result


def topological_order(root):
    """Tensors that require grad and lead to `root`, each after all of its inputs."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:  # second visit: every input is already in `order`
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor._ctx is not None:
            for inp in tensor._ctx.inputs:
                if isinstance(inp, Tensor) and inp._requires_grad and id(inp) not in visited:
                    stack.append((inp, False))
    return order


class Step:
    """What one backward step did: the `tensor` and its node `ctx` (None for a leaf), its complete gradient
    `grad_output`, the one sent to each input `grad_inputs` (None where none was), and `paths`: how many uses
    of the tensor its gradient was summed from."""

    __slots__ = ("tensor", "ctx", "_grad_output", "_grad_inputs", "paths")

    def __init__(self, tensor, ctx, grad_output, grad_inputs, paths):
        self.tensor, self.ctx, self.paths = tensor, ctx, paths
        self._grad_output, self._grad_inputs = grad_output, grad_inputs  # arrays, or Tensors (create_graph)

    @property
    def grad_output(self):
        return recorded.as_tensor(self._grad_output, type(self.tensor))

    @property
    def grad_inputs(self):
        return tuple(None if g is None else recorded.as_tensor(g, type(self.tensor)) for g in self._grad_inputs)


def backward_steps(root, grad=None, retain_graph=False, create_graph=False):
    """Yield a `Step` for each tensor as backward reaches it, doing the work as it goes: consuming every
    step is `root.backward(...)`. Gradients travel as arrays; under `create_graph` as Tensors (`recorded`)."""
    retain_graph = retain_graph or create_graph  # recorded gradients refer to this graph's saved values
    grads = {id(root): recorded.initial_grad(root, grad, create_graph, Tensor)}  # 2. d(out)/d(out)
    paths = {id(root): 1}  # how many gradients each tensor has collected
    for tensor in reversed(topological_order(root)):  # 1. and 3.
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        with recorded.grad_mode_for(create_graph):  # recorded only under create_graph
            step = _step(tensor, g, grads, paths, retain_graph, create_graph)
        yield step


def _step(tensor, g, grads, paths, retain_graph, create_graph):
    """Send `tensor`'s complete gradient `g` through its op to the op's inputs."""
    if tensor._hooks:
        g = hooks.run(tensor, g, create_graph)
    ctx = tensor._ctx
    if ctx is None or tensor._retains_grad:  # 4. a leaf keeps its gradient
        _add_to_grad(tensor, g, create_graph)
    if ctx is None:
        return Step(tensor, None, g, (), paths.pop(id(tensor)))
    versions.check(ctx, tensor)  # raises if a value backward needs was changed in place since forward
    ctx.last_use = not retain_graph
    if create_graph or ctx.fn.tensor_backward:
        grad_inputs = recorded.call_backward(ctx, tensor, g, create_graph)  # the op's backward, on Tensors
    elif anomaly.is_anomaly_enabled():
        grad_inputs = anomaly.call_backward(ctx, g)  # a NaN made inside is blamed on this op
    else:
        try:
            grad_inputs = ctx.fn.backward(ctx, g)  # the op's own backward, on arrays
        except AttributeError as e:  # most likely a Tensor-only method called on an array
            raise recorded.explain_array_backward(e, ctx, g) from None
    sent = []
    for inp, gi in zip(ctx.inputs, grad_inputs if isinstance(grad_inputs, tuple) else (grad_inputs,)):
        wanted = gi is not None and isinstance(inp, Tensor) and inp._requires_grad
        sent.append(fit(gi, inp, ctx, create_graph) if wanted else None)
        if wanted:
            _add_up(grads, paths, inp, sent[-1], ctx.xp, create_graph)
    if anomaly.is_anomaly_enabled():
        anomaly.check_backward(ctx, _array(g), [_array(s) for s in sent])
    if not retain_graph:
        ctx.free()  # the saved arrays go now, not when the whole graph is dropped
    return Step(tensor, ctx, g, tuple(sent), paths.pop(id(tensor)))


def _add_up(grads, paths, inp, gi, xp, create_graph):
    """Add `gi` to what `inp` has collected from the other tensors made from it."""
    key, uses = id(inp), paths.get(id(inp), 0)
    if uses == 0:
        grads[key] = gi
    elif uses >= 2 and not create_graph:
        grads[key] += gi  # in place: a sum of two or more is the engine's own array, seen by no op
    else:
        grads[key] = grads[key] + gi if create_graph else _array(grads[key] + gi, xp)
    paths[key] = uses + 1


def fit(grad, inp, ctx, create_graph=False):
    """`grad` summed back to the input's shape (`unbroadcast`) and cast to its dtype."""
    if create_graph:
        grad = recorded.as_tensor(grad, Tensor)  # a backward that returned an array gives a constant
    else:
        grad = _array(grad, ctx.xp)  # a Tensor, or a NumPy scalar from a 0-d operation
    if grad.shape != inp.shape:
        grad = unbroadcast(grad, inp.shape, ctx.name)
    return grad if grad.dtype == inp.dtype else grad.astype(inp.dtype)


def unbroadcast(grad, shape, op):
    """Sum `grad` (an array or a Tensor) over the axes that broadcasting added or stretched, giving `shape`."""
    lead = grad.ndim - len(shape)  # the leading axes broadcasting added
    if lead < 0 or any(n != 1 and grad.shape[lead + i] != n for i, n in enumerate(shape)):
        raise RuntimeError(f"backward of op '{op}' returned a gradient of shape {tuple(grad.shape)} for an input of shape {shape}")
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)


def _add_to_grad(tensor, g, create_graph):
    """Add the gradient into `.grad` (recorded only under create_graph)."""
    if tensor.grad is not None:
        g = tensor.grad + g if create_graph else _array(tensor.grad.data + g, backend.xp_for(tensor.device))
    tensor.grad = g if create_graph else Tensor._wrap(g)


def _array(value, xp=None):
    """The backend array of a Tensor or an array; with `xp`, a NumPy scalar (a 0-d result) made a 0-d array."""
    value = value.data if isinstance(value, Tensor) else value
    return value if xp is None or isinstance(value, xp.ndarray) else xp.asarray(value)
