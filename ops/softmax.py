"""softmax and log_softmax: the math, as single fused nodes, and composed from primitives.

Along the normalised axis, with m = max_j x_j (subtracted so that exp never overflows):

    softmax:      y_i = exp(x_i - m) / sum_j exp(x_j - m)
    backward:     dx_i = y_i * (g_i - sum_j g_j y_j)        (the Jacobian diag(y) - y y^T applied to g)

    log_softmax:  z_i = x_i - m - log(sum_j exp(x_j - m))
    backward:     dx_i = g_i - exp(z_i) * sum_j g_j           (exp(z) is the softmax)

A row whose every entry is -inf (a fully masked attention row) attends to
nothing: softmax gives zeros there, not NaN, log_softmax -inf, and the
gradient is zero and finite.

The Functions below are that math, line by line, and they are what
`softmax()` and `log_softmax()` run. After `ops.fast.enable()` (training does
it) the same math runs in fewer passes over memory (in place, compiled, or one
CUDA kernel on the GPU); the tests hold each of those forms to this one.
"""
from autograd import Function
from autograd.dtypes import floating

from .dispatch import form
from .compare import where
from .elementwise import exp, log


def _row_shift(xp, x, axis):
    """m = max(x) along `axis` (kept), with 0 for a row that is all -inf, so that x - m stays -inf, not NaN."""
    m = x.max(axis=axis, keepdims=True)
    return xp.where(xp.isfinite(m), m, 0)


def log_softmax_of(xp, x, axis):
    """z = x - m - log(sum(exp(x - m))) on a backend array; a fully masked row stays -inf."""
    shifted = x - _row_shift(xp, x, axis)
    s = xp.exp(shifted).sum(axis=axis, keepdims=True)
    return shifted - xp.log(xp.where(s == 0, 1, s))


class Softmax(Function):
    rule = "y = softmax(x):  dx = y ⊙ (dy − Σ dy⊙y)"
    name = "softmax"

    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        e = xp.exp(x - _row_shift(xp, x, axis))
        s = e.sum(axis=axis, keepdims=True)
        y = e / xp.where(s == 0, 1, s)  # a fully masked row: 0 / 1
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return y * (grad - (grad * y).sum(ctx.axis, keepdims=True)), None


class LogSoftmax(Function):
    rule = "y = x − logΣeˣ:  dx = dy − softmax(x)·Σdy"
    name = "log_softmax"

    @staticmethod
    def forward(ctx, x, axis):
        z = log_softmax_of(ctx.xp, x, axis)
        ctx.save_for_backward(z)
        ctx.axis = axis
        return z

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return grad - ctx.F.exp(z) * grad.sum(ctx.axis, keepdims=True), None


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
    x = floating(x)
    if fused:
        return form(Softmax, x, axis).apply(x, axis)
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
    x = floating(x)
    if fused:
        return form(LogSoftmax, x, axis).apply(x, axis)
    shifted = x - _safe_shift(x, axis)
    s = exp(shifted).sum(axis, keepdims=True)
    return shifted - log(where(s == 0, 1.0, s))
