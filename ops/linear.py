"""The affine map of a fully connected layer, y = x·Wᵀ + b, as one node.

With x of shape (rows, in), W (out, in) as in PyTorch, b (out,), and dy the
gradient that reaches y:

    dx = dy · W        dW = dyᵀ · x  (summed over every row)        db = Σ_rows dy

Leading axes of x, (batch, len, in), are all rows. One node instead of a
matmul and an add is what `torch.nn.functional.linear` (addmm) does too; the
composed form (`fused=False`) draws the textbook graph with the same numbers.
`ops.fast` has a form that adds the product to the bias inside the GEMM.
"""
import math

from autograd import Function

from .dispatch import form
from .matmul import matmul


class Linear(Function):
    rule = "y = x·Wᵀ + b:  dx = dy·W,  dW = dyᵀ·x,  db = Σ_rows dy"
    broadcasting = True
    name = "linear"

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        out = x @ weight.T  # (..., out_features)
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad_x = grad @ weight if ctx.needs_grad(0) else None  # (..., in_features)
        grad_w = rows(grad).T @ rows(x) if ctx.needs_grad(1) else None  # (out, rows) @ (rows, in)
        return grad_x, grad_w, grad if ctx.needs_grad(2) else None  # the engine sums db over the rows


def rows(x):
    """x (..., n) as a (rows, n) matrix: every leading axis is a row."""
    return x.reshape(math.prod(x.shape[:-1]), x.shape[-1])


def linear(x, weight, bias=None, fused=True):
    """x @ weight.T + bias, as `torch.nn.functional.linear`.

    Args:
        x: input of shape (..., in_features).
        weight: (out_features, in_features), PyTorch's layout.
        bias: (out_features,), or None.
        fused: one `linear` node (True), or the graph matmul(x, weight.T) + bias (False).

    Returns:
        A tensor of shape (..., out_features).

    Raises:
        ValueError: naming linear and the shapes when they do not fit.
    """
    if x.ndim == 0 or weight.ndim != 2 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: needs input (..., in_features) and weight (out_features, in_features), "
                         f"got {_shapes(x, weight, bias)}")
    if bias is not None and tuple(bias.shape) != tuple(weight.shape[:1]):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), got {_shapes(x, weight, bias)}")
    if fused:
        return form(Linear, x).apply(x, weight, bias)
    y = matmul(x, weight.T)
    return y if bias is None else y + bias


def _shapes(x, weight, bias):
    return f"input {tuple(x.shape)}, weight {tuple(weight.shape)}" + ("" if bias is None else f", bias {tuple(bias.shape)}")
