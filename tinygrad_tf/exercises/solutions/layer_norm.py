"""Exercise: the backward of layer normalization over the last axis.

For each row x of d features (biased variance, as PyTorch):

    mean = Σ x / d,   var = Σ (x − mean)² / d,   rstd = 1 / sqrt(var + eps)
    x̂ = (x − mean) · rstd
    y = x̂ · weight + bias

Backward, with dy the gradient of the loss with respect to y and ĝ = dy · weight:

    dweight = Σ over rows of dy · x̂        dbias = Σ over rows of dy
    dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂))     (means over the last axis)

Check it with:  tinygrad-tf exercise check layer_norm layer_norm.py
"""
import numpy as np


def layer_norm_backward(x, weight, dy, eps=1e-5):
    """Gradients of y = layer_norm(x) · weight + bias, given dy.

    Args:
        x: the input (..., d).
        weight: the scale (d,).
        dy: the gradient of the loss with respect to y, x's shape.
        eps: added to the variance before the square root.

    Returns:
        (dx, dweight, dbias): x's shape, (d,) and (d,).
    """
    centered = x - x.mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt((centered ** 2).mean(axis=-1, keepdims=True) + eps)
    x_hat = centered * rstd
    g_hat = dy * weight
    dx = rstd * (g_hat - g_hat.mean(axis=-1, keepdims=True) - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True))
    rows = tuple(range(x.ndim - 1))
    return dx, (dy * x_hat).sum(axis=rows), dy.sum(axis=rows)
