"""The three Functions the engine itself needs to fit a gradient to its input.

Binary ops broadcast in forward (NumPy rules) and their backward returns a
gradient in the broadcast shape. The engine sums it back to the input's shape
here, once, instead of in every op (`sum_to`, or `sum_to_array` on arrays),
and casts it to the input's dtype (`cast`). `sum_to`'s backward broadcasts;
`broadcast_to`'s backward hands the gradient back unsummed and the engine sums
it, as for every op, so second derivatives pass through unbroadcasting too.
"""
import math

from . import backend
from .function import Function

# A gradient summed over leading axes only (a bias's) is a matrix-vector product
# with ones from this many elements up, which BLAS runs several times faster than
# a reduction over the rows; below it, the call costs more than it saves.
SUM_TO_GEMV_MIN_SIZE = 4096


class BroadcastTo(Function):
    rule = "dx = dy summed back over the broadcast axes"
    broadcasting = True
    name = "broadcast_to"

    @staticmethod
    def forward(ctx, x, shape):
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums it back to the input's shape, as for every op


class SumTo(Function):
    rule = "dx = broadcast dy back to x's shape"
    name = "sum_to"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return sum_to_array(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return ctx.F.broadcast_to(grad, ctx.in_shape), None


class Cast(Function):
    rule = "dx = dy cast back to x's dtype"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.in_dtype), None


def sum_to_array(x, shape):
    """Sum a backend array over the axes that broadcasting added or stretched, giving `shape`."""
    lead = x.ndim - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    if lead and not stretched and x.dtype.kind == "f" and x.flags.c_contiguous and x.size >= SUM_TO_GEMV_MIN_SIZE:
        # only leading axes (a bias's gradient): a matrix-vector product with ones
        rows = x.reshape(-1, math.prod(shape))
        return (backend.xp_for(backend.device_of(x)).ones(rows.shape[0], dtype=x.dtype) @ rows).reshape(shape)
    return x.sum(axis=tuple(range(lead)) + stretched, keepdims=True).reshape(shape)


def broadcast_to(x, shape):
    """Broadcast `x` to `shape` (NumPy rules); backward sums back to x's shape."""
    shape = tuple(shape)
    return x if tuple(x.shape) == shape else BroadcastTo.apply(x, shape)


def sum_to(x, shape):
    """Sum `x` over its broadcast axes so that it has `shape`."""
    shape = tuple(shape)
    return x if tuple(x.shape) == shape else SumTo.apply(x, shape)


def cast(x, dtype):
    """`x` as another dtype; the gradient is cast back."""
    return x if x.dtype == dtype else Cast.apply(x, dtype)
