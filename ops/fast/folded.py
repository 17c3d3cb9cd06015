"""Matrix products folded into fewer, larger GEMMs: the fast form of matmul and its helpers.

NumPy's matmul runs a stack of matrices against one matrix, (..., n, k) @
(k, m), as one small GEMM per matrix; folding the stack into the rows of one
(rows, k) @ (k, m) product is several times faster. In backward, a weight
shared by every matrix of the stack gets Σ_i A_iᵀ dC_i, which is (all rows of
A)ᵀ (all rows of dC): one GEMM instead of a (batch, k, m) stack then summed.
"""
import math

from autograd import Tensor

from ..matmul import MatMul, as_matrices, check_shapes


class MatMulFolded(MatMul):
    @staticmethod
    def forward(ctx, a, b):
        check_shapes(a.shape, b.shape)
        ctx.save_for_backward(a, b)
        return product(a, b)

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording:
            return MatMul.backward(ctx, grad)
        a, b = ctx.saved_tensors
        a2, b2, g2 = as_matrices(a, b, grad)
        grad_a = grad_b = None
        if ctx.needs_grad(0):
            grad_a = product(g2, b2.swapaxes(-1, -2))  # (..., n, k): the engine sums broadcast batch axes
            grad_a = grad_a.squeeze(-2) if a.ndim == 1 else grad_a
        if ctx.needs_grad(1) and b.ndim == 2 and a.ndim >= 2:
            rows_a, rows_g = stack_rows(a), stack_rows(g2)
            if is_transposed(b):  # b = weight.T: compute weight's gradient in weight's own layout
                grad_b = sum_of_outer_products(rows_g, rows_a).swapaxes(0, 1)
            else:
                grad_b = sum_of_outer_products(rows_a, rows_g)
        elif ctx.needs_grad(1):
            grad_b = a2.swapaxes(-1, -2) @ g2  # (..., k, m): the engine sums broadcast batch axes
            grad_b = grad_b.squeeze(-1) if b.ndim == 1 else grad_b
        return grad_a, grad_b


def product(a, b):
    """a @ b; (..., n, k) @ (k, m) as one large GEMM over all rows."""
    if a.ndim > 2 and b.ndim == 2:
        return (stack_rows(a) @ b).reshape(a.shape[:-1] + b.shape[-1:])
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
    result = (x.T @ g).T
    # an array is copied into the weight's own layout (m x n, small beside the product); a Tensor has no layout to keep
    return result if isinstance(result, Tensor) else result.copy()


def stack_rows(x):
    """x (..., n) as a (rows, n) matrix (explicit sizes: -1 cannot be inferred for an empty x)."""
    return x.reshape(math.prod(x.shape[:-1]), x.shape[-1])


def is_transposed(x):
    """True for an array that is the transpose of a contiguous one (Tensors: False)."""
    flags = getattr(x, "flags", None)
    return flags is not None and flags.f_contiguous and not flags.c_contiguous
