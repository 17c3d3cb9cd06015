"""Arrays, lists and devices: what `Tensor(...)` and `Function.apply` do with what they are given.

A Tensor holds one backend array: a NumPy array on "cpu", a CuPy array on
"cuda". These functions make that array from a number, a list or another
array, give NumPy/CuPy arrays passed straight to an op the device and float
dtype of the op's Tensors, pick the array module of an op's inputs (raising
when they sit on different devices), and put the op's name and the input
shapes into a forward's error.
"""
import numpy as np

from . import backend

_PLAIN = frozenset((int, float, bool, str, tuple, list, type(None), slice))  # never arrays: skip the probe


def default_dtype(array):
    """The dtype a Tensor gets from its data: floats become float32, integers int64, booleans stay bool."""
    kind = array.dtype.kind
    if kind == "f":
        return np.float32
    if kind in "iu":
        return np.int64
    if kind == "b":
        return np.bool_
    raise TypeError(f"Tensor: unsupported dtype {array.dtype} (floats, integers and booleans only)")


def new_array(data, dtype, device):
    """A fresh backend array holding `data`, on `device` (default: where the data is), of `dtype` (default: as the data)."""
    device = backend.check_device(device or backend.device_of(data))
    array = backend.move(data, device)
    xp = backend.xp_for(device)
    dtype = np.dtype(dtype) if dtype is not None else default_dtype(xp.asarray(array))
    return xp.array(array, dtype=dtype, copy=True)


def is_array(a):
    """Whether `a` is a NumPy/CuPy array (or scalar) rather than a Tensor, number, list or other argument."""
    return type(a) not in _PLAIN and (hasattr(a, "__array_interface__") or hasattr(a, "__cuda_array_interface__"))


def lift_arrays(args, tensor_type):
    """The arguments with NumPy/CuPy arrays turned into Tensors on the op's device.

    The device is the first Tensor's (else "cpu"). A floating array takes the
    dtype of the first floating Tensor (so a float64 NumPy array never silently
    promotes float32 work), else the default.
    """
    tensors = [a for a in args if isinstance(a, tensor_type)]
    device = tensors[0].device if tensors else "cpu"
    float_dtype = next((t.dtype for t in tensors if t.dtype.kind == "f"), None)
    lifted = []
    for a in args:
        if not isinstance(a, tensor_type) and is_array(a):
            dtype = float_dtype if float_dtype is not None and a.dtype.kind == "f" else None
            a = tensor_type(a, dtype=dtype, device=device)
        lifted.append(a)
    return tuple(lifted)


def array_module(fn, args, raw):
    """numpy or cupy, for an op whose arguments are `args` and their arrays `raw` (the same object for a non-Tensor).

    Raises for Tensors on different devices.
    """
    first = None
    for a, array in zip(args, raw):
        if array is a:  # a number or another plain argument
            continue
        if first is None:
            first = type(array)
        elif _on_gpu(type(array)) != _on_gpu(first):
            _raise_mixed_devices(fn, args, raw)
    return np if first is None or not _on_gpu(first) else backend.xp_for("cuda")


def separate_shared_arrays(args, raw):
    """Where two distinct Tensors share one array (x and x.detach()), give the second a view of its own in `raw`,
    so that a recorded backward can tell which input a saved array belongs to (`recorded.saved_as_tensors`)."""
    if len(raw) < 2:
        return
    owners = {}
    for i, (a, array) in enumerate(zip(args, raw)):
        if array is not a and owners.setdefault(id(array), a) is not a:
            raw[i] = array.view()


def as_array(ctx, out):
    """A forward's result as an array: NumPy turns 0-d results into scalars (what forward saved follows)."""
    if isinstance(out, ctx.xp.ndarray):
        return out
    scalar, out = out, ctx.xp.asarray(out)
    ctx._saved = tuple(out if value is scalar else value for value in ctx._saved)
    return out


def named_error(error, fn, args, raw):
    """`error` raised by forward, its message starting with the op's name and ending with the input shapes."""
    shapes = ", ".join(str(tuple(array.shape)) for a, array in zip(args, raw) if array is not a)
    message = str(error) if str(error).startswith(fn.op_name() + ":") else f"{fn.op_name()}: {error}"
    return type(error)(f"{message} (input shapes {shapes})")


def _on_gpu(array_type):
    """Whether data of this type lives on the GPU (NumPy arrays and scalars do not)."""
    return array_type is not np.ndarray and not issubclass(array_type, np.generic)


def _raise_mixed_devices(fn, args, raw):
    described = ", ".join(f"{tuple(array.shape)} on {backend.device_of(array)}"
                          for a, array in zip(args, raw) if array is not a)
    raise RuntimeError(f"{fn.op_name()}: inputs are on different devices ({described}); "
                       "move them to one device with .to(device) first")
