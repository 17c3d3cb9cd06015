"""Activation functions: tanh, sigmoid, relu, gelu.

GELU, exact (as PyTorch's default), with Phi and phi the standard normal's
distribution and density:

    y = x * Phi(x),   Phi(x) = (1 + erf(x / sqrt(2))) / 2
    dx = g * (Phi(x) + x * phi(x)),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)

and PyTorch's tanh approximation, with k = sqrt(2 / pi) and t = tanh(k (x + 0.044715 x^3)):

    y = x * (1 + t) / 2
    dx = g * ((1 + t) / 2 + x (1 - t^2) k (1 + 3 * 0.044715 x^2) / 2)

The GELU Function below is that math, and what `gelu()` runs; after
`ops.fast.enable()`, on the GPU, one CUDA kernel each way (tested against it).
"""
import math

from autograd import Function
from autograd.dtypes import floating

from .dispatch import form
from ._special import erf


class Tanh(Function):
    rule = "y = tanh x:  dx = dy·(1 − y²)"

    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Sigmoid(Function):
    rule = "y = σ(x):  dx = dy·y(1 − y)"

    @staticmethod
    def forward(ctx, a):
        xp = ctx.xp
        out = xp.exp(-xp.logaddexp(0, -a))  # 1 / (1 + e^-a) without overflow
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class ReLU(Function):
    rule = "y = max(x, 0):  dx = dy where x > 0"
    name = "relu"  # the compiled form (ops.fast.compiled) is drawn under this name too

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a > 0)
        return ctx.xp.maximum(a, 0)

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_tensors
        return grad * positive


class GELU(Function):
    """x * Phi(x): exact with erf, or PyTorch's tanh approximation."""
    rule = "y = x·Φ(x):  dx = dy·(Φ(x) + x·φ(x))"

    name = "gelu"
    once_differentiable = True

    @staticmethod
    def forward(ctx, a, approximate):
        xp = ctx.xp
        ctx.approximate = approximate
        if approximate == "tanh":
            # keep tanh(inner) for backward, which needs it too
            t = xp.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a**3))
            ctx.save_for_backward(a, t)
            return 0.5 * a * (1 + t)
        # keep Phi(x) for backward: erf is the costly part (SciPy's runs one element at a time)
        cdf = 0.5 * (1 + erf(xp, a / math.sqrt(2)))
        ctx.save_for_backward(a, cdf)
        return a * cdf

    @staticmethod
    def backward(ctx, grad):
        x, kept = ctx.saved_tensors  # arrays: a once-differentiable backward never records
        xp = ctx.xp
        if ctx.approximate == "tanh":
            k, t = math.sqrt(2 / math.pi), kept
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
        else:
            pdf = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            d = kept + x * pdf  # Phi(x) + x phi(x)
        return (grad * d).astype(x.dtype, copy=False), None


def tanh(a):
    """Hyperbolic tangent (integers give float32)."""
    return Tanh.apply(floating(a))


def sigmoid(a):
    """1 / (1 + e^-a), computed without overflow (integers give float32)."""
    return Sigmoid.apply(floating(a))


def relu(a):
    """max(a, 0); the gradient at 0 is 0."""
    return form(ReLU, a).apply(a)


def gelu(a, approximate="none"):
    """Gaussian error linear unit, as `torch.nn.functional.gelu`.

    Args:
        a: input tensor.
        approximate: "none" for the exact x * Phi(x) (erf), "tanh" for the
            tanh approximation.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    a = floating(a)
    return form(GELU, a).apply(a, approximate)
