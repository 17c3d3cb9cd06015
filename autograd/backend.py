"""Array backends: NumPy on "cpu", CuPy on "cuda".

Every Tensor holds one backend array. CuPy is imported only when "cuda" is
first asked for, so the CPU path never needs it installed.
"""
import numpy as np

DEVICES = ("cpu", "cuda")

_CUDA_HELP = (
    'device "cuda" needs CuPy and an NVIDIA GPU. Install the CUDA extra with '
    "`pip install -e .[cuda]` (or the CuPy wheel for your CUDA version, e.g. "
    "`pip install cupy-cuda12x`)."
)

_cupy = None


def _load_cupy():
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError as e:
            raise RuntimeError(f"{_CUDA_HELP} (import failed: {e})") from None
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # CUDA driver missing or broken
            raise RuntimeError(f"{_CUDA_HELP} (no usable GPU: {e})") from None
        if count == 0:
            raise RuntimeError(f"{_CUDA_HELP} (no GPU found)")
        _cupy = cupy
    return _cupy


def check_device(device):
    """Return `device` normalised ("cuda:0" -> "cuda"), or raise for an unknown one."""
    name = str(device).split(":")[0]
    if name not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
    return name


def cuda_available():
    """True when CuPy imports and sees at least one GPU."""
    try:
        _load_cupy()
    except RuntimeError:
        return False
    return True


def xp_for(device):
    """The array module (numpy or cupy) for a device name."""
    return np if device == "cpu" else _load_cupy()


def device_of(array):
    """The device name an array lives on."""
    if isinstance(array, np.ndarray) or np.isscalar(array):
        return "cpu"
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return "cuda"
    return "cpu"


def move(array, device):
    """Copy an array to a device (no copy when it is already there)."""
    if device == "cpu":
        return array.get() if device_of(array) == "cuda" else np.asarray(array)
    return _load_cupy().asarray(array)


def to_numpy(array):
    """A NumPy array with the same values, from any device."""
    return array.get() if device_of(array) == "cuda" else np.array(array, copy=True)


def as_rows(xp, x, dtype=None):
    """x as a C-contiguous (rows, last axis) matrix of `dtype`: what the compiled and CUDA row kernels take.

    A view when x already is one; a 0-d x becomes a 1 x 1 matrix.
    """
    x = xp.ascontiguousarray(x, dtype=dtype)
    return x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)


def scatter_add(xp, target, index, values):
    """target[index] += values, accumulating over repeated indices (`ops.fast.scatter` has a faster form).

    Raises:
        ValueError: for a read-only target (NumPy's `add.at` would write into it).
    """
    if xp is np and not target.flags.writeable:
        raise ValueError(f"scatter_add: the target array of shape {target.shape} is read-only")
    if xp is np or hasattr(xp.add, "at"):  # CuPy 13+ has ufunc.at (cupyx.scatter_add is deprecated)
        xp.add.at(target, index, values)
    else:
        import cupyx

        cupyx.scatter_add(target, index, values)
    return target
