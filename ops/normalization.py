"""Layer normalization over the last axis: the math, as a fused node, and composed from primitives.

For each row x of d features (biased variance, as PyTorch):

    mean = sum(x) / d,   var = sum((x - mean)^2) / d,   rstd = 1 / sqrt(var + eps)
    x_hat = (x - mean) * rstd
    y = x_hat * weight + bias

Backward, with g the output's gradient and g_hat = g * weight:

    d weight = sum over rows of g * x_hat,   d bias = sum over rows of g
    dx = rstd * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat))

(x_hat's Jacobian takes out the mean and the component along x_hat, then
scales by 1/std.) The Function below is that math, and what `layer_norm()`
runs; after `ops.fast.enable()` the same math runs in fewer passes over memory
(in place, compiled, or one CUDA kernel), tested against the form written here.
"""
from autograd import Function
from autograd.dtypes import floating

from .dispatch import form


class LayerNorm(Function):
    rule = "x̂ = (x−μ)/σ, y = x̂·w + b:  dx = (w·dy − mean(w·dy) − x̂·mean(w·dy·x̂))/σ,  dw = Σ dy·x̂,  db = Σ dy"
    broadcasting = True
    name = "layer_norm"
    once_differentiable = True  # backward uses the saved normalised input

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        xp = ctx.xp
        centered = x - x.mean(axis=-1, keepdims=True)
        var = (centered * centered).mean(axis=-1, keepdims=True)  # biased
        rstd = 1 / xp.sqrt(var + eps)  # (..., 1)
        x_hat = centered * rstd
        ctx.save_for_backward(x_hat, rstd, weight)
        y = x_hat if weight is None else x_hat * weight
        return y if bias is None else y + bias

    @staticmethod
    def backward(ctx, grad):
        x_hat, rstd, weight = ctx.saved_tensors  # arrays: a once-differentiable backward never records
        g_hat = grad if weight is None else grad * weight
        grad_x = rstd * (g_hat - g_hat.mean(axis=-1, keepdims=True)
                         - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True))
        # (..., d) each: the engine sums them over the rows to the shape (d,)
        grad_w = grad * x_hat if ctx.needs_grad(1) else None
        grad_b = grad if ctx.needs_grad(2) else None
        return grad_x, grad_w, grad_b, None


def layer_norm(x, weight=None, bias=None, eps=1e-5, fused=True):
    """Normalise the last axis to zero mean and unit (biased) variance, then scale and shift.

    Args:
        x: input of shape (..., d).
        weight, bias: tensors of shape (d,), or None.
        eps: added to the variance before the square root.
        fused: one node with an analytic backward (True), or the graph of
            primitives mean, sub, var, add, sqrt, div, mul, add (False).
    """
    x = floating(x)
    d = x.shape[-1]
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != (d,):
            raise ValueError(f"layer_norm: {name} has shape {tuple(p.shape)}, expected ({d},) for input {x.shape}")
    if fused:
        return form(LayerNorm, x).apply(x, weight, bias, eps)
    centered = x - x.mean(-1, keepdims=True)
    out = centered / (centered.var(-1, keepdims=True) + eps).sqrt()
    out = out if weight is None else out * weight
    return out if bias is None else out + bias
