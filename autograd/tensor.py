"""`Tensor`: a backend array plus what backward needs to know about it."""
import functools

import numpy as np

from . import backend


@functools.cache
def _ops():
    """The `ops` package, for Tensor's operator sugar below.

    This is the one place the engine reaches up into `ops` (which itself
    imports the engine), so the import happens at call time, not at load.
    The engine (`engine`, `fit`) likewise builds on Tensor, so the two
    methods that call into it, `backward` and `astype`, import it when called.
    """
    import ops

    return ops


def _default_dtype(array):
    kind = array.dtype.kind
    if kind == "f":
        return np.float32
    if kind in "iu":
        return np.int64
    if kind == "b":
        return np.bool_
    raise TypeError(f"Tensor: unsupported dtype {array.dtype} (floats, integers and booleans only)")


class _VersionCounter:
    """The number of in-place changes to one array, shared by every Tensor that views it.

    `changes` (on the class) counts in-place changes to any tensor: while it has
    not moved since an op's forward, backward knows at once that nothing the op
    saved has changed, and checks no version.
    """

    __slots__ = ("value",)
    changes = 0

    def __init__(self):
        self.value = 0


class Tensor:
    """An n-dimensional array that can record the operations made from it.

    Args:
        data: a number, nested list, NumPy or CuPy array, or Tensor (copied).
        requires_grad: record operations on this tensor so backward() reaches it.
            Only floating-point tensors can require gradients.
        dtype: "float32", "float64", "int64", "bool", ... Defaults follow the
            data: floats become float32, integers int64, booleans stay bool.
        device: "cpu" (NumPy) or "cuda" (CuPy). Defaults to where the data is.

    Example:
        >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        Tensor([[2. 4.]
                [6. 8.]], shape=(2, 2), dtype=float32, device=cpu)
    """

    __slots__ = (
        "_data", "grad", "_requires_grad", "_ctx", "_hooks", "_retains_grad", "name",
        "_version_counter", "__weakref__",
    )

    # NumPy on the left of an operator (`array / x`, `np.float64(2) * x`) defers to
    # our reflected operators instead of turning `x` into a plain array (NEP 13),
    # so the result is a Tensor and stays in the graph.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):
            data = data.data
        device = backend.check_device(device or backend.device_of(data))
        array = backend.move(data, "cpu") if device == "cpu" else backend.move(data, "cuda")
        xp = backend.xp_for(device)
        dtype = np.dtype(dtype) if dtype is not None else _default_dtype(xp.asarray(array))
        self._data = xp.array(array, dtype=dtype, copy=True)
        self._init(requires_grad)

    def _init(self, requires_grad):
        self._version_counter = None
        self.grad = None
        self._ctx = None
        self._hooks = None
        self._retains_grad = False
        self.name = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """A Tensor around an existing backend array (no copy, no dtype change)."""
        t = cls.__new__(cls)
        t._data = array
        t._version_counter = None
        t.grad = None
        t._ctx = None
        t._hooks = None
        t._retains_grad = False
        t.name = None
        t._requires_grad = requires_grad
        return t

    # ---- the values, and the count of their in-place changes --------------
    @property
    def data(self):
        """The backend array (numpy.ndarray or cupy.ndarray) holding the values."""
        return self._data

    @data.setter
    def data(self, array):
        # New values count as an in-place change: an op that saved the old ones for
        # backward must not differentiate at values no longer there. The tensor no
        # longer views what it viewed before, so it takes a counter of its own.
        counter = _VersionCounter()
        counter.value = self._version + 1
        self._data, self._version_counter = array, counter
        _VersionCounter.changes += 1

    @property
    def _version(self):
        """How many times the values were changed in place (PyTorch's `tensor._version`).

        Tensors that view one array (`x.detach()`, a reshape of `x`) share one
        count. Every op that saves a tensor for backward remembers its version,
        and backward raises if it has moved since.
        """
        counter = self._version_counter
        return 0 if counter is None else counter.value

    def bump_version(self):
        """Record that the values were changed in place.

        `x.data = array` and the optimizers' updates call it. Writes into the
        array itself (`x.data[...] = v`, `x.data += v`, NumPy's `out=`) go past
        the Tensor and cannot be seen, as with `.data` in PyTorch: call this
        after such a write if a graph that saved `x` may still be backpropagated,
        so that backward raises instead of using the changed values.
        """
        self._shared_version_counter().value += 1
        _VersionCounter.changes += 1

    def _shared_version_counter(self):
        """This tensor's version counter, made on first use (most tensors never need one)."""
        if self._version_counter is None:
            self._version_counter = _VersionCounter()
        return self._version_counter

    # ---- attributes -----------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self._data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients; this tensor is "
                f"{self._data.dtype} with shape {self.shape}"
            )
        if not value and self._ctx is not None:
            raise RuntimeError("requires_grad can only be turned off on a leaf tensor; use detach()")
        self._requires_grad = bool(value)

    @property
    def shape(self):
        return tuple(self._data.shape)

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def size(self):
        return int(self._data.size)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        return backend.device_of(self._data)

    @property
    def grad_fn(self):
        """The Context of the op that made this tensor (None for a leaf)."""
        return self._ctx

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def T(self):
        return self.transpose()

    def __len__(self):
        return len(self._data)

    # ---- conversions ----------------------------------------------------
    def numpy(self):
        """A NumPy copy of the values, whatever the device."""
        return backend.to_numpy(self._data)

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def item(self):
        """The single value as a Python number."""
        if self.size != 1:
            raise ValueError(f"item(): tensor has {self.size} elements, expected 1 (shape {self.shape})")
        return self._data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __bool__(self):
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def to(self, device):
        """A copy on `device` ("cpu" or "cuda"), a leaf that keeps requires_grad."""
        device = backend.check_device(device)
        if device == self.device:
            return self
        return Tensor._wrap(backend.move(self._data, device), self.requires_grad)

    def detach(self):
        """The same values, cut from the graph (shares memory and the version count)."""
        t = Tensor._wrap(self._data)
        t._version_counter = self._shared_version_counter()
        return t

    def astype(self, dtype):
        """The values as another dtype (differentiable between float types)."""
        from .fit import cast

        return cast(self, np.dtype(dtype))

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=" ", prefix="Tensor(", threshold=64)
        extra = f", shape={self.shape}, dtype={self.dtype}, device={self.device}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ---- autograd -------------------------------------------------------
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Compute gradients of this tensor with respect to every leaf that requires them.

        Args:
            grad: gradient of some final value with respect to this tensor; may be
                omitted only when this tensor holds a single value (it is then 1).
            retain_graph: keep the saved tensors so backward can run again.
            create_graph: record the backward pass, for second derivatives.
        """
        from .engine import backward

        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    def register_hook(self, fn):
        """Call `fn(grad)` when this tensor's gradient is ready; a returned Tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: tensor does not require grad")
        self._hooks = (self._hooks or []) + [fn]
        return fn

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it)."""
        self._retains_grad = True

    def zero_grad(self):
        self.grad = None

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
    __hash__ = object.__hash__

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
