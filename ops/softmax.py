"""softmax and log_softmax: fused single nodes, and the same math from primitives.

Both forms subtract the row maximum before exponentiating (so large scores do
not overflow) and treat a row whose every entry is -inf (a fully masked
attention row) as attending to nothing: softmax gives zeros there, not NaN,
and the gradient is zero and finite.
"""
from autograd import Function

from . import cuda
from .compare import where
from .elementwise import exp, log


def _row_max(xp, x, axis):
    """The maximum along `axis`, kept as a size-1 axis.

    NumPy reduces a short last axis row by row, slowly (attention rows are
    10 to 50 long); halving the rows pairwise does the same comparisons as a
    few whole-array operations.
    """
    if axis not in (-1, x.ndim - 1) or not 1 < x.shape[-1] <= 64:
        return x.max(axis=axis, keepdims=True)
    a = x
    while a.shape[-1] > 1:
        half = a.shape[-1] // 2
        m = xp.maximum(a[..., :half], a[..., half : 2 * half])
        if a.shape[-1] % 2:
            xp.maximum(m[..., :1], a[..., -1:], out=m[..., :1])
        a = m
    return a


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        if cuda.applies(xp, x, axis):
            out = cuda.softmax_forward(xp, x)
        else:
            m = _row_max(xp, x, axis)
            out = x - xp.where(xp.isfinite(m), m, 0)  # the one new array: exp and the division are in place
            xp.exp(out, out=out)
            s = out.sum(axis=axis, keepdims=True)
            out /= xp.where(s == 0, 1, s)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        # dx = y * (g - sum(g * y)): the Jacobian diag(y) - y y^T applied to g
        (y,) = ctx.saved_tensors
        if not ctx.recording and cuda.applies(ctx.xp, y, ctx.axis):
            return cuda.softmax_backward(ctx.xp, y, grad), None
        return y * (grad - (grad * y).sum(ctx.axis, keepdims=True)), None


def log_softmax_array(xp, x, axis):
    """x - max - log(sum(exp(x - max))) on a backend array; a fully masked row stays -inf."""
    m = _row_max(xp, x, axis)
    m = xp.where(xp.isfinite(m), m, 0)
    s = xp.exp(x - m).sum(axis=axis, keepdims=True)
    return x - m - xp.log(xp.where(s == 0, 1, s))


class LogSoftmax(Function):
    name = "log_softmax"

    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        out = cuda.log_softmax_forward(xp, x) if cuda.applies(xp, x, axis) else log_softmax_array(xp, x, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        # dx = g - softmax(x) * sum(g)
        (out,) = ctx.saved_tensors
        if not ctx.recording and cuda.applies(ctx.xp, out, ctx.axis):
            return cuda.log_softmax_backward(ctx.xp, out, grad), None
        return grad - ctx.F.exp(out) * grad.sum(ctx.axis, keepdims=True), None


def _safe_shift(x, axis):
    """The row maximum as a constant (0 for an all -inf row), to subtract before exp."""
    m = x.max(axis, keepdims=True).detach()
    return where(m > -float("inf"), m, 0.0)


def softmax(x, axis=-1, fused=True):
    """exp(x) / sum(exp(x)) along `axis`.

    Args:
        x: scores.
        axis: the axis that sums to one.
        fused: one node with an analytic backward (True), or the graph of
            primitives max, sub, exp, sum, div (False), to see how it is built.
    """
    if fused:
        return Softmax.apply(x, axis)
    e = exp(x - _safe_shift(x, axis))
    s = e.sum(axis, keepdims=True)
    return e / where(s == 0, 1.0, s)


def log_softmax(x, axis=-1, fused=True):
    """log(softmax(x)) along `axis`, computed stably (x - max - log sum exp).

    Args:
        x: scores.
        axis: the normalised axis.
        fused: one node (True) or the graph of primitives (False).
    """
    if fused:
        return LogSoftmax.apply(x, axis)
    shifted = x - _safe_shift(x, axis)
    s = exp(shifted).sum(axis, keepdims=True)
    return shifted - log(where(s == 0, 1.0, s))
