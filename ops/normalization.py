"""Layer normalization over the last axis: a fused node, and composed from primitives."""
from autograd import Function

from . import cuda
from ._rows import row_sum


class LayerNorm(Function):
    broadcasting = True
    name = "layer_norm"
    once_differentiable = True  # backward uses the saved normalised input

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        xp, d = ctx.xp, x.shape[-1]
        if cuda.applies(xp, x):
            out, x_hat, rstd = cuda.layer_norm_forward(xp, x, weight, bias, eps)
            ctx.save_for_backward(x_hat, rstd, weight)
            return out
        rows = x.reshape(-1, d)  # (n, d)
        x_hat = rows - row_sum(xp, rows) / d
        var = xp.einsum("ij,ij->i", x_hat, x_hat)[:, None] / d  # biased variance, no (n, d) temporary
        rstd = 1.0 / xp.sqrt(var + eps)  # (n, 1)
        x_hat *= rstd  # in place: x_hat was the centred copy
        ctx.save_for_backward(x_hat, rstd, weight)
        if weight is None:
            out = x_hat.copy() if bias is None else x_hat + bias  # never x_hat itself: backward may reuse it
        else:
            out = x_hat * weight
            if bias is not None:
                out += bias
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        x_hat, rstd, weight = ctx.saved_tensors  # arrays: a once-differentiable backward never records
        xp, d = ctx.xp, x_hat.shape[-1]
        g = grad.reshape(-1, d)
        grad_w = xp.einsum("ij,ij->j", g, x_hat) if ctx.needs_grad(1) else None  # summed over rows here
        grad_b = g.sum(axis=0) if ctx.needs_grad(2) else None
        if cuda.applies(xp, x_hat):
            return cuda.layer_norm_backward(xp, grad, x_hat, rstd, weight), grad_w, grad_b, None
        g_hat = g if weight is None else g * weight
        # d x_hat / d x projects out the mean and the x_hat direction, then scales by 1/std:
        # grad_x = rstd * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)), row by row
        mean_g = row_sum(xp, g_hat) / d
        mean_gx = xp.einsum("ij,ij->i", g_hat, x_hat)[:, None] / d
        grad_x = x_hat if ctx.last_use else x_hat.copy()  # x_hat is this op's own array
        grad_x *= mean_gx
        grad_x += mean_g
        xp.subtract(g_hat, grad_x, out=grad_x)
        grad_x *= rstd
        return grad_x.reshape(grad.shape), grad_w, grad_b, None


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
