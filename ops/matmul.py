"""Matrix product with `numpy.matmul`'s rules: batched, broadcasting, 1-D cases.

For C = A·B, each element C[i, j] = Σ_k A[i, k] B[k, j], so with dC the
gradient that reaches C:

    dA = dC · Bᵀ        dB = Aᵀ · dC

Batched operands (..., n, k) @ (..., k, m) do this per matrix; an operand
broadcast over the batch gets its gradients summed over it, which the engine
does (unbroadcasting). A 1-D operand is a row (for A) or a column (for B), as
in `numpy.matmul`. The Function below is that math; `ops.fast` has a form
that folds a stack of matrices times one matrix into one large product.
"""
import numpy as np

from autograd import Function

from .dispatch import form


class MatMul(Function):
    rule = "C = A·B:  dA = dC·Bᵀ,  dB = Aᵀ·dC"
    name = "matmul"  # the folded form (ops.fast.folded) is drawn under this name too

    @staticmethod
    def forward(ctx, a, b):
        check_shapes(a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a2, b2, g2 = as_matrices(a, b, grad)
        grad_a = grad_b = None
        if ctx.needs_grad(0):
            grad_a = g2 @ b2.swapaxes(-1, -2)  # (..., n, k)
            grad_a = grad_a.squeeze(-2) if a.ndim == 1 else grad_a
        if ctx.needs_grad(1):
            grad_b = a2.swapaxes(-1, -2) @ g2  # (..., k, m)
            grad_b = grad_b.squeeze(-1) if b.ndim == 1 else grad_b
        return grad_a, grad_b


def as_matrices(a, b, grad):
    """a, b and grad with a 1-D a as a row (1, k), a 1-D b as a column (k, 1), and grad shaped to match."""
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    g2 = grad
    if a.ndim == 1:  # the row axis the 1-D a lost
        g2 = g2.reshape(g2.shape[:-1] + (1,) + g2.shape[-1:]) if b.ndim > 1 else g2.reshape(1)
    if b.ndim == 1:  # the column axis the 1-D b lost
        g2 = g2.reshape(g2.shape + (1,))
    return a2, b2, g2


def check_shapes(sa, sb):
    """Raise a ValueError naming matmul and both shapes when they cannot be multiplied."""
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: operands must have at least one dimension, got shapes {sa} and {sb}")
    k_a = sa[-1]
    k_b = sb[0] if len(sb) == 1 else sb[-2]
    if k_a != k_b:
        raise ValueError(
            f"matmul: shapes {sa} and {sb} do not align: {k_a} (last axis of the first) "
            f"!= {k_b} ({'the only' if len(sb) == 1 else 'second-to-last'} axis of the second)"
        )
    try:
        np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch axes of shapes {sa} and {sb} do not broadcast") from None


def matmul(a, b):
    """Matrix product a @ b, exactly as `numpy.matmul` (batched and broadcasting).

    Raises:
        ValueError: naming matmul and both shapes when they do not align.
    """
    return form(MatMul, a).apply(a, b)
