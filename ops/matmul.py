"""Matrix product with `numpy.matmul`'s rules: batched, broadcasting, 1-D cases."""
import math

import numpy as np

from autograd import Function, Tensor


class MatMul(Function):
    rule = "C = A·B:  dA = dC·Bᵀ,  dB = Aᵀ·dC"

    @staticmethod
    def forward(ctx, a, b):
        _check_shapes(a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return _product(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # Treat a 1-D operand as a matrix (a row for a, a column for b), as matmul does,
        # and give the gradient the matching matrix shape.
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        g2 = grad
        if a.ndim == 1:  # the row axis the 1-D a lost
            g2 = g2.reshape(g2.shape[:-1] + (1,) + g2.shape[-1:]) if b.ndim > 1 else g2.reshape(1)
        if b.ndim == 1:  # the column axis the 1-D b lost
            g2 = g2.reshape(g2.shape + (1,))
        grad_a = grad_b = None
        if ctx.needs_grad(0):
            grad_a = _product(g2, b2.swapaxes(-1, -2))  # (..., n, k): the engine sums broadcast batch axes
            grad_a = grad_a.squeeze(-2) if a.ndim == 1 else grad_a
        if ctx.needs_grad(1) and b.ndim == 2 and a.ndim >= 2:
            # b was shared by every batch item: sum_i a_i^T g_i = (all rows of a)^T (all rows of g),
            # one GEMM instead of a (batch, k, m) stack that is then summed
            rows_a, rows_g = _stack_rows(a), _stack_rows(g2)
            if _is_transposed(b):  # b = weight.T: compute weight's gradient in weight's own layout
                grad_b = sum_of_outer_products(rows_g, rows_a).swapaxes(0, 1)
            else:
                grad_b = sum_of_outer_products(rows_a, rows_g)
        elif ctx.needs_grad(1):
            grad_b = a2.swapaxes(-1, -2) @ g2  # (..., k, m): the engine sums broadcast batch axes
            grad_b = grad_b.squeeze(-1) if b.ndim == 1 else grad_b
        return grad_a, grad_b


def _product(a, b):
    """a @ b for arrays or Tensors; (..., n, k) @ (k, m) as one large GEMM over all rows.

    NumPy's matmul runs a stack of matrices against one matrix as one small GEMM
    per matrix; folding the stack into the rows is several times faster.
    """
    if a.ndim > 2 and b.ndim == 2:
        return (_stack_rows(a) @ b).reshape(a.shape[:-1] + b.shape[-1:])
    return a @ b


def sum_of_outer_products(g, x):
    """g.T @ x for g (rows, m) and x (rows, n): a weight's gradient, summed over every row, C-contiguous (m, n).

    A long sum over rows into a small result: OpenBLAS shares such a GEMM
    between its threads by the rows of its first operand, so the operand with
    more columns goes first (for (768, 512) -> 128 on two cores 1.4 times as
    fast as the other order; the same when m = n).
    """
    if g.shape[1] >= x.shape[1]:
        return g.T @ x
    product = (x.T @ g).T
    # an array is copied into the weight's own layout (m x n, small beside the product); a Tensor
    # (a recorded backward) has no layout to keep
    return product if isinstance(product, Tensor) else product.copy()


def _stack_rows(x):
    """x (..., n) as a (rows, n) matrix (explicit sizes: -1 cannot be inferred for an empty x)."""
    return x.reshape(math.prod(x.shape[:-1]), x.shape[-1])


def _is_transposed(x):
    """True for an array that is the transpose of a contiguous one (Tensors: False)."""
    flags = getattr(x, "flags", None)
    return flags is not None and flags.f_contiguous and not flags.c_contiguous


def _check_shapes(sa, sb):
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
    return MatMul.apply(a, b)
