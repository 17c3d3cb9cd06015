"""softmax and log_softmax: fused single nodes, and the same math from primitives.

Both forms subtract the row maximum before exponentiating (so large scores do
not overflow) and treat a row whose every entry is -inf (a fully masked
attention row) as attending to nothing: softmax gives zeros there, not NaN,
and the gradient is zero and finite.
"""
from autograd import Function

from . import cuda
from ._rows import row_max, row_sum
from .compare import where
from .elementwise import exp, log


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        if cuda.applies(xp, x, axis):
            out = cuda.softmax_forward(xp, x)
        else:
            m = row_max(xp, x, axis)
            out = x - xp.where(xp.isfinite(m), m, 0)  # the one new array: exp and the division are in place
            xp.exp(out, out=out)
            s = row_sum(xp, out, axis)
            out /= xp.where(s == 0, 1, s)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        # dx = y * (g - sum(g * y)): the Jacobian diag(y) - y y^T applied to g
        (y,) = ctx.saved_tensors
        if ctx.recording:
            return y * (grad - (grad * y).sum(ctx.axis, keepdims=True)), None
        xp = ctx.xp
        if cuda.applies(xp, y, ctx.axis):
            return cuda.softmax_backward(xp, y, grad), None
        dx = grad * y  # the one new array
        s = row_sum(xp, dx, ctx.axis)
        xp.subtract(grad, s, out=dx)
        dx *= y
        return dx, None


def log_softmax_array(xp, x, axis):
    """x - max - log(sum(exp(x - max))) on a backend array; a fully masked row stays -inf."""
    m = row_max(xp, x, axis)
    shifted = x - xp.where(xp.isfinite(m), m, 0)
    s = row_sum(xp, xp.exp(shifted), axis)
    shifted -= xp.log(xp.where(s == 0, 1, s))  # in place: shifted is new
    return shifted


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
        if ctx.recording:
            return grad - ctx.F.exp(out) * grad.sum(ctx.axis, keepdims=True), None
        xp = ctx.xp
        if cuda.applies(xp, out, ctx.axis):
            return cuda.log_softmax_backward(xp, out, grad), None
        dx = xp.exp(out)  # the one new array
        dx *= row_sum(xp, grad, ctx.axis)
        xp.subtract(grad, dx, out=dx)
        return dx, None


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
