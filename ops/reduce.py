"""Reductions over axes: sum, mean, var, max, min (NumPy's `axis` and `keepdims`)."""
from autograd import Function
from autograd.dtypes import floating

from ._axes import expand_reduced, normalize_axes


class Sum(Function):
    rule = "y = Σx:  dx = dy broadcast back over the summed axes"

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        ctx.in_shape, ctx.axes = a.shape, axes
        return a.sum(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(ctx.F, grad, ctx.in_shape, ctx.axes), None, None


class Mean(Function):
    rule = "y = Σx/n:  dx = dy/n broadcast back"

    @staticmethod
    def forward(ctx, a, axes, keepdims):
        ctx.in_shape, ctx.axes = a.shape, axes
        ctx.count = _count(a.shape, axes)
        return a.mean(axis=axes, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(ctx.F, grad, ctx.in_shape, ctx.axes) / ctx.count, None, None


class Var(Function):
    rule = "y = Σ(x−μ)²/n:  dx = dy·2(x−μ)/n"

    @staticmethod
    def forward(ctx, a, axes, keepdims, ddof):
        ctx.save_for_backward(a)
        ctx.axes, ctx.ddof = axes, ddof
        return a.var(axis=axes, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        centered = a - ctx.F.mean(a, axis=ctx.axes, keepdims=True)
        scale = 2.0 / (_count(a.shape, ctx.axes) - ctx.ddof)
        return expand_reduced(ctx.F, grad, a.shape, ctx.axes) * centered * scale, None, None, None


class _Extreme(Function):
    """max / min: the gradient is shared equally among the elements that tie for the extreme."""
    rule = "dx = dy at the max (min) positions, shared among ties"

    @classmethod
    def forward(cls, ctx, a, axes, keepdims):
        out = cls.reduce(a, axes)
        ctx.save_for_backward(a, out)
        ctx.axes = axes
        return out if keepdims else out.squeeze(axis=axes)

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        winners = (a == out).astype(a.dtype)  # out kept its reduced axes, so it broadcasts
        winners = winners / winners.sum(ctx.axes, keepdims=True)
        return expand_reduced(ctx.F, grad, a.shape, ctx.axes) * winners, None, None


class Max(_Extreme):
    reduce = staticmethod(lambda a, axes: a.max(axis=axes, keepdims=True))


class Min(_Extreme):
    reduce = staticmethod(lambda a, axes: a.min(axis=axes, keepdims=True))


def _count(shape, axes):
    n = 1
    for i in axes:
        n *= shape[i]
    return n


def sum(a, axis=None, keepdims=False):
    """Sum over `axis` (None: all axes; an int or a tuple)."""
    return Sum.apply(a, normalize_axes(axis, a.shape, "sum"), keepdims)


def mean(a, axis=None, keepdims=False):
    """Arithmetic mean over `axis` (integers give float32)."""
    a = floating(a)
    return Mean.apply(a, normalize_axes(axis, a.shape, "mean"), keepdims)


def var(a, axis=None, keepdims=False, ddof=0):
    """Variance over `axis`; `ddof=0` is the biased (population) variance, as in NumPy. Integers give float32."""
    a = floating(a)
    return Var.apply(a, normalize_axes(axis, a.shape, "var"), keepdims, ddof)


def max(a, axis=None, keepdims=False):
    """Maximum over `axis`; tied maxima share the gradient equally."""
    return Max.apply(a, normalize_axes(axis, a.shape, "max"), keepdims)


def min(a, axis=None, keepdims=False):
    """Minimum over `axis`; tied minima share the gradient equally."""
    return Min.apply(a, normalize_axes(axis, a.shape, "min"), keepdims)
