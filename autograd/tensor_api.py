"""The rest of Tensor's public methods: sizes, conversions, printing, devices, hooks.

`Tensor` (in `core`) inherits them. None of them records anything or takes
part in backward, so a learner reading the engine can skip this file.
"""
import numpy as np

from . import backend, hooks, versions


class TensorAPI:
    """Properties and conversions of a Tensor's values (inherited by `core.Tensor`)."""

    __slots__ = ()

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        if value and self._data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients; this tensor is "
                            f"{self._data.dtype} with shape {self.shape}")
        if not value and self._ctx is not None:
            raise RuntimeError("requires_grad can only be turned off on a leaf tensor; use detach()")
        self._requires_grad = bool(value)

    def detach(self):
        """The same values, cut from the graph (shares memory and the count of in-place changes)."""
        t = type(self)._wrap(self._data)
        t._version_counter = versions.counter_of(self)
        return t

    @property
    def shape(self):
        return tuple(self._data.shape)

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
    def ndim(self):
        return self._data.ndim

    @property
    def size(self):
        return int(self._data.size)

    @property
    def T(self):
        return self.transpose()

    def __len__(self):
        return len(self._data)

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
        return type(self)._wrap(backend.move(self._data, device), self.requires_grad)

    @property
    def _version(self):
        """How many times the values were changed in place (PyTorch's `tensor._version`; see `versions`)."""
        return versions.version_of(self)

    def bump_version(self):
        """Record that the values were changed in place.

        `x.data = array` and the optimizers' updates call it. Writes into the
        array itself (`x.data[...] = v`, NumPy's `out=`) go past the Tensor and
        cannot be seen, as with `.data` in PyTorch: call this after such a write
        if a graph that saved `x` may still be backpropagated, so that backward
        raises instead of using the changed values.
        """
        versions.bump(self)

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=" ", prefix="Tensor(", threshold=64)
        extra = f", shape={self.shape}, dtype={self.dtype}, device={self.device}"
        if self._ctx is not None:
            extra += f", grad_fn=<{self._ctx.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    def register_hook(self, fn):
        """Call `fn(grad)` when this tensor's gradient is ready; a returned Tensor replaces it."""
        return hooks.register(self, fn)

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it)."""
        self._retains_grad = True

    def zero_grad(self):
        self.grad = None
