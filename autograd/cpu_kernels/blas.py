"""out += a @ b through the BLAS that NumPy itself calls: what `numpy.matmul` cannot do.

A fully connected layer computes x @ W.T + b. NumPy's matmul always writes a
new product, so the bias is added in a second pass over the output, which by
then has left the cache: for a (1024, 4000) output that pass costs a tenth of
the GEMM. BLAS's GEMM computes C = A·B + β·C: with C filled with the bias
first and β = 1, each tile of the product is added to the bias while it is
in registers. PyTorch's `addmm` does the same.

NumPy's wheels ship OpenBLAS with its symbols renamed (scipy-openblas); this
module calls the GEMM of that very library, so there is one BLAS and one
thread pool in the process. Where it finds none it knows (NumPy built on MKL
or Accelerate, ...), `takes` is False and the callers use NumPy. The
environment variable TINYGRAD_TF_BLAS=0, read when the process starts, turns
it off too.
"""
import ctypes
import functools
import glob
import os

import numpy as np

enabled = os.environ.get("TINYGRAD_TF_BLAS", "1") != "0"

# CBLAS's constants
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
# (symbol prefix, symbol suffix, integer type): scipy-openblas64 (NumPy 2's wheels) and scipy-openblas32.
# A plain `cblas_sgemm` is left alone: nothing tells whether its integers are 32 or 64 bits wide.
_NAMINGS = (("scipy_cblas_", "64_", ctypes.c_int64), ("scipy_cblas_", "", ctypes.c_int32))


def takes(*arrays):
    """Whether `add_product` runs through BLAS here: NumPy arrays of one dtype, float32 or float64."""
    dtype = arrays[0].dtype
    return (enabled and dtype in (np.float32, np.float64) and _gemms() is not None
            and all(isinstance(a, np.ndarray) and a.dtype == dtype for a in arrays))


def add_product(out, a, b):
    """out += a @ b in place, for matrices a (m, k), b (k, n) and a C-contiguous out (m, n).

    Each of a and b may be C-contiguous or the transpose of a C-contiguous
    matrix (as `weight.T` is); anything else is copied first. Where BLAS
    cannot be used (see `takes`), out is read-only or overlaps a or b, NumPy
    computes the product and adds it.

    Raises:
        ValueError: naming add_product and the shapes when they do not fit.
    """
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or out.shape != (a.shape[0], b.shape[1]) \
            or not out.flags.c_contiguous:
        raise ValueError(f"add_product: needs a (m, k), b (k, n), C-contiguous out (m, n), "
                         f"got a {a.shape}, b {b.shape}, out {out.shape}")
    (m, k), n = a.shape, b.shape[1]
    gemms = _gemms()
    if (not takes(out, a, b) or not out.flags.writeable or max(m, n, k) > gemms["largest"]
            or np.may_share_memory(out, a) or np.may_share_memory(out, b)):  # bounds only: cheap, never wrong
        out += a @ b  # NumPy's product is a new array: right even where out overlaps an operand
        return out
    if m and n and k:  # a product over an empty axis adds nothing (and BLAS wants strides >= 1)
        a_trans, a, lda = _as_blas_operand(a)
        b_trans, b, ldb = _as_blas_operand(b)
        gemm, scalar = gemms[out.dtype.char]
        gemm(_ROW_MAJOR, a_trans, b_trans, m, n, k, scalar(1.0), a.ctypes.data, lda, b.ctypes.data, ldb,
             scalar(1.0), out.ctypes.data, n)
    return out


def _as_blas_operand(x):
    """(transposed flag, array, leading dimension): x or its C-contiguous transpose, as row-major BLAS reads it."""
    if x.flags.c_contiguous:
        return _NO_TRANS, x, x.shape[1]
    if x.flags.f_contiguous:  # x.T is C-contiguous: BLAS reads it and transposes
        return _TRANS, x, x.shape[0]
    x = np.ascontiguousarray(x)
    return _NO_TRANS, x, x.shape[1]


@functools.lru_cache(maxsize=None)
def _gemms():
    """{dtype char: (gemm function, scalar type), "largest": size limit} from NumPy's own OpenBLAS, or None."""
    for path in _numpy_openblas_paths():
        try:
            library = ctypes.CDLL(path)  # already loaded by NumPy: this only looks its symbols up
        except OSError:
            continue
        for prefix, suffix, integer in _NAMINGS:
            try:
                sgemm, dgemm = (getattr(library, f"{prefix}{t}gemm{suffix}") for t in "sd")
            except AttributeError:
                continue
            for gemm, scalar in ((sgemm, ctypes.c_float), (dgemm, ctypes.c_double)):
                gemm.argtypes = ([ctypes.c_int] * 3 + [integer] * 3 + [scalar, ctypes.c_void_p, integer,
                                 ctypes.c_void_p, integer, scalar, ctypes.c_void_p, integer])
                gemm.restype = None
            largest = 2 ** (8 * ctypes.sizeof(integer) - 1) - 1  # the largest size the library's integers hold
            return {"f": (sgemm, ctypes.c_float), "d": (dgemm, ctypes.c_double), "largest": largest}
    return None


def _numpy_openblas_paths():
    """The OpenBLAS libraries NumPy's wheels bundle: numpy.libs/ on Linux, numpy/.dylibs/ on macOS."""
    package = os.path.dirname(np.__file__)
    patterns = (os.path.join(os.path.dirname(package), "numpy.libs", "libscipy_openblas*"),
                os.path.join(package, ".dylibs", "libscipy_openblas*"))
    return sorted(path for pattern in patterns for path in glob.glob(pattern))
