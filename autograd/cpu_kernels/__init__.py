"""Compiled CPU loops (numba), optional: the "cpu" backend's counterpart of `autograd.cuda_kernels`.

NumPy runs each step of an op (subtract the mean, square, sum, scale, ...) as
a pass of its own over the whole array. The loops in `loops.py` do all the
steps of one row, or one element, while it is in the CPU's cache: layer norm,
softmax, the loss's softmax, dropout, ReLU (`ops.fast.compiled` wraps them as
the ops' compiled forms), Adam's update (`tinygrad_tf.optim.Adam`) and the
scatter-add of an embedding's gradient (`ops.fast.scatter`). `blas` calls the
GEMM of NumPy's own OpenBLAS (`ops.fast.blas_linear`). All of them run only
after `ops.fast.enable()`.

They need numba (`pip install -e .[fast]`). Without it, or with the
environment variable TINYGRAD_TF_COMPILED=0 when the process starts (or
`enabled` set to False), `load()` returns None and the callers use their NumPy
forms, which the tests hold these loops to.
"""
import functools
import os

import numpy as np

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
enabled = os.environ.get("TINYGRAD_TF_COMPILED", "1") != "0"  # read once: load() runs for every fused op


def load():
    """The compiled loops (the `loops` module) to choose, or None where numba is missing or they are turned off."""
    return loops_module() if enabled else None


def takes(dtype):
    """Whether the loops are there to choose for arrays of `dtype` (float32 or float64)."""
    return dtype in FLOATS and load() is not None


def applies(xp, *arrays):
    """Whether the loops run on these arrays: NumPy float32/float64 of one dtype, with the loops available."""
    dtype = arrays[0].dtype
    return xp is np and all(a.dtype == dtype for a in arrays) and takes(dtype)


@functools.lru_cache(maxsize=None)
def loops_module():
    """The `loops` module whether or not `enabled` (None without numba): an op that chose it in
    forward runs its backward with it even if the loops were turned off in between."""
    try:
        from . import loops as module  # compiles nothing yet: each loop compiles on its first call
    except ImportError:
        return None
    return module
