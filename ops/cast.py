"""Casting a tensor to another dtype (`x.astype(dtype)`); the gradient is cast back."""
import numpy as np

from autograd import Function


class Cast(Function):
    rule = "dx = dy cast back to x's dtype"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.in_dtype), None


def cast(x, dtype):
    """`x` as `dtype` ("float64", np.float32, ...); `x` itself when it already is."""
    dtype = np.dtype(dtype)
    return x if x.dtype == dtype else Cast.apply(x, dtype)
