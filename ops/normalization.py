"""Layer normalization over the last axis: a fused node, and composed from primitives."""
from autograd import Function


class LayerNorm(Function):
    name = "layer_norm"
    once_differentiable = True  # backward uses the saved normalised input

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        xp = ctx.xp
        mu = x.mean(axis=-1, keepdims=True)
        centered = x - mu
        rstd = 1.0 / xp.sqrt((centered * centered).mean(axis=-1, keepdims=True) + eps)
        x_hat = centered * rstd  # (..., d)
        ctx.save_for_backward(x_hat, rstd, weight)
        out = x_hat if weight is None else x_hat * weight
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx, grad):
        xh, rstd, weight = ctx.saved_tensors  # arrays: a once-differentiable backward never records
        g = grad
        g_hat = g if weight is None else g * weight
        # d x_hat / d x projects out the mean and the x_hat direction, then scales by 1/std
        grad_x = rstd * (
            g_hat - g_hat.mean(axis=-1, keepdims=True) - xh * (g_hat * xh).mean(axis=-1, keepdims=True)
        )
        grad_w = g * xh if ctx.needs_grad(1) else None  # the engine sums over leading axes
        grad_b = g if ctx.needs_grad(2) else None
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
    d = x.shape[-1]
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != (d,):
            raise ValueError(f"layer_norm: {name} has shape {tuple(p.shape)}, expected ({d},) for input {x.shape}")
    if fused:
        return LayerNorm.apply(x, weight, bias, eps)
    centered = x - x.mean(-1, keepdims=True)
    out = centered / (centered.var(-1, keepdims=True) + eps).sqrt()
    out = out if weight is None else out * weight
    return out if bias is None else out + bias
