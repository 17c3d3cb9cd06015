"""Fused CuPy kernels: one launch each for softmax, log_softmax, layer_norm, cross_entropy, gelu and Adam.

On "cuda" these ops would otherwise run five to ten CuPy array operations each
(a kernel launch and a pass over memory apiece). The row ops are RawKernels in
`kernels.cu`, one thread block per row; gelu and Adam's update are ElementwiseKernels.
Each function takes the array module (`cupy`) and CuPy arrays and returns
CuPy arrays; the reduced axis is the last one. Nothing here waits for the GPU.

They belong to the "cuda" backend, not to one package of ops: `ops.fast`
wraps the row kernels as the GPU forms of the fused ops, and
`tinygrad_tf.optim.Adam` calls `adam_update` directly. They are used only on
CuPy arrays of float32/float64 (`applies`), and the tests check them against
the readable form of each op, on a GPU and, through a CPU emulation of the
kernels (`tests/ops/cuda_emulator.py`), without one.
"""
import functools
import os

import numpy as np

from ..backend import as_rows

BLOCK = 256  # threads per row, as kernels.cu's BLOCK
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels.cu")
C_TYPES = {"float32": "float", "float64": "double"}

# gelu's forward (x -> y) and backward (x, g -> dx) bodies, exact (erf) and tanh form.
GELU = {
    "none": (
        "y = 0.5 * x * (1 + erf(x * 0.70710678118654752))",
        "T cdf = 0.5 * (1 + erf(x * 0.70710678118654752));"
        " dx = g * (cdf + x * exp(-0.5 * x * x) * 0.39894228040143267)",
    ),
    "tanh": (
        "y = 0.5 * x * (1 + tanh(0.79788456080286536 * (x + 0.044715 * x * x * x)))",
        "T t = tanh(0.79788456080286536 * (x + 0.044715 * x * x * x));"
        " dx = g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * 0.79788456080286536 * (1 + 3 * 0.044715 * x * x))",
    ),
}


# Adam's update of one parameter in place: the moments, then the parameter (see tinygrad_tf.optim.Adam).
ADAM = (
    "T g, T b1, T b2, T step_size, T eps",
    "T p, T m, T v",
    "m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * g * g; p -= step_size * m / (sqrt(v) + eps)",
)


def applies(xp, array, axis=-1):
    """Whether a fused kernel can take `array`: a CuPy float32/float64 array, reduced (if at all) over `axis` = the last.

    The other arrays of the op are cast to `array`'s dtype by the functions below.
    """
    return xp is not np and takes(array.dtype, array.ndim, axis)


def takes(dtype, ndim, axis=-1):
    """Whether the kernels handle arrays of `dtype` and `ndim` axes reduced over `axis` (float32/float64, the last axis)."""
    return np.dtype(dtype).name in C_TYPES and axis in (-1, ndim - 1)


def softmax_forward(xp, x):
    return _row_map("softmax_forward", xp, x)


def softmax_backward(xp, y, g):
    return _row_map("softmax_backward", xp, y, g)


def log_softmax_forward(xp, x):
    return _row_map("log_softmax_forward", xp, x)


def log_softmax_backward(xp, y, g):
    return _row_map("log_softmax_backward", xp, y, g)


def layer_norm_forward(xp, x, weight, bias, eps):
    """(y, x_hat, rstd): the output, the normalised rows and 1/sqrt(var + eps) per row."""
    rows = as_rows(xp, x)
    n, d = rows.shape
    weight = xp.ones(d, dtype=x.dtype) if weight is None else xp.ascontiguousarray(weight, dtype=x.dtype)
    bias = xp.zeros(d, dtype=x.dtype) if bias is None else xp.ascontiguousarray(bias, dtype=x.dtype)
    y, x_hat, rstd = xp.empty_like(rows), xp.empty_like(rows), xp.empty(n, dtype=x.dtype)
    _launch("layer_norm_forward", xp, n, d, x.dtype, rows, weight, bias, y, x_hat, rstd, np.int64(d), x.dtype.type(eps))
    return y.reshape(x.shape), x_hat, rstd


def layer_norm_backward(xp, grad, x_hat, rstd, weight):
    """The input's gradient, shaped like grad (x_hat and rstd as layer_norm_forward gave them)."""
    g = as_rows(xp, grad, x_hat.dtype)
    n, d = g.shape
    weight = xp.ones(d, dtype=g.dtype) if weight is None else xp.ascontiguousarray(weight, dtype=g.dtype)
    dx = xp.empty_like(g)
    _launch("layer_norm_backward", xp, n, d, g.dtype, g, x_hat, rstd, weight, dx, np.int64(d))
    return dx.reshape(grad.shape)


def cross_entropy_forward(xp, logits, targets, valid, smoothing):
    """(probs, loss): the softmax of each row and its label-smoothed loss (0 where not valid)."""
    x = as_rows(xp, logits)
    n, c = x.shape
    probs, loss = xp.empty_like(x), xp.empty(n, dtype=x.dtype)
    _launch("cross_entropy_forward", xp, n, c, x.dtype, x, xp.ascontiguousarray(targets, dtype=np.int64),
            xp.ascontiguousarray(valid, dtype=bool), probs, loss, np.int64(c), x.dtype.type(smoothing))
    return probs, loss


def cross_entropy_backward(xp, probs, targets, row_scale, smoothing):
    """(softmax - smoothed one-hot) * row_scale, shaped like probs."""
    n, c = probs.shape
    dx = xp.empty_like(probs)
    _launch("cross_entropy_backward", xp, n, c, probs.dtype, probs, xp.ascontiguousarray(targets, dtype=np.int64),
            xp.ascontiguousarray(row_scale, dtype=probs.dtype), dx, np.int64(c), probs.dtype.type(smoothing))
    return dx


def gelu_forward(xp, x, approximate):
    return _gelu_kernels(xp, approximate)[0](x)


def gelu_backward(xp, x, g, approximate):
    return _gelu_kernels(xp, approximate)[1](x, g)


def adam_update(xp, param, grad, m, v, b1, b2, step_size, eps):
    """One Adam step on `param`, `m` and `v` in place: one kernel instead of a dozen array operations."""
    scalar = param.dtype.type
    _adam_kernel(xp)(grad, scalar(b1), scalar(b2), scalar(step_size), scalar(eps), param, m, v)


def _row_map(name, xp, *arrays):
    """Run a kernel that maps (rows, cols) inputs to one output of the first input's shape and dtype."""
    rows = [as_rows(xp, a, arrays[0].dtype) for a in arrays]
    n, d = rows[0].shape
    out = xp.empty_like(rows[0])
    _launch(name, xp, n, d, out.dtype, *rows, out, np.int64(d))
    return out.reshape(arrays[0].shape)


def _launch(name, xp, rows, cols, dtype, *args):
    if rows and cols:  # an empty row has nothing to reduce (and no first element to start from)
        _module(xp, np.dtype(dtype).name).get_function(name)((rows,), (BLOCK,), args)


@functools.lru_cache(maxsize=None)
def _module(xp, dtype_name):
    """kernels.cu compiled for one dtype (`xp.RawModule`: CuPy's, or the tests' CPU emulation)."""
    with open(SOURCE, encoding="utf-8") as f:
        source = f.read()
    return xp.RawModule(code=f"typedef {C_TYPES[dtype_name]} T;\n{source}")


@functools.lru_cache(maxsize=None)
def _gelu_kernels(xp, approximate):
    forward, backward = GELU[approximate]
    return (xp.ElementwiseKernel("T x", "T y", forward, f"gelu_{approximate}_forward"),
            xp.ElementwiseKernel("T x, T g", "T dx", backward, f"gelu_{approximate}_backward"))


@functools.lru_cache(maxsize=None)
def _adam_kernel(xp):
    return xp.ElementwiseKernel(*ADAM, "adam_update")
