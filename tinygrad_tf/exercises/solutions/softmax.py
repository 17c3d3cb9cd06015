"""Exercise: the backward of softmax.

Along the normalised axis, y = softmax(x):

    y_i = exp(x_i - m) / Σ_j exp(x_j - m)        (m = max_j x_j, for stability)

Given y and dy (the gradient of the loss with respect to y), the gradient
with respect to x is the Jacobian diag(y) − y yᵀ applied to dy:

    dx_i = y_i · (dy_i − Σ_j dy_j y_j)

A fully masked row (every x_j = −inf) has y = 0 there, and its dx is 0.

Check it with:  tinygrad-tf exercise check softmax softmax.py
"""
import numpy as np


def softmax_backward(y, dy, axis=-1):
    """dx for y = softmax(x, axis), given y and dy.

    Args:
        y: the softmax's output (any shape).
        dy: the gradient of the loss with respect to y, y's shape.
        axis: the axis the softmax normalised (sums to one along it).

    Returns:
        dx, y's shape.
    """
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))
