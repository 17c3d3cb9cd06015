"""The fast form of `linear`: the bias added inside the GEMM, the gradients in fewer passes.

Forward: BLAS's GEMM computes C = A·B + β·C, so with C filled with the bias
first and β = 1 each tile of the product is added to the bias while it is in
registers (`autograd.cpu_kernels.blas`); PyTorch's `addmm` does the same.
Below `BLAS_MIN_OUTPUT` output elements, or where that BLAS is not found, the
bias is added in place to the product just written. Backward: the products
fold every leading axis into one GEMM (`folded`), the weight's gradient comes
out in the weight's own layout, and the bias's row sum is a matrix-vector
product with ones (`row_sum`), several times faster than NumPy's sum over rows.
"""
from autograd.cpu_kernels import blas

from ..linear import Linear
from .folded import product, stack_rows, sum_of_outer_products

# From this many output elements up the BLAS call (a few microseconds more than NumPy's) costs less than
# the second pass over the output it saves; smaller outputs are still in cache for that pass.
BLAS_MIN_OUTPUT = 32768
# A sum over the rows is a matrix-vector product with ones from this many elements up: BLAS runs it several
# times faster than a reduction; below it, the call costs more than it saves.
ROW_SUM_GEMV_MIN_SIZE = 4096


class LinearBLAS(Linear):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        rows = stack_rows(x)  # (rows, in_features)
        if bias is not None and rows.shape[0] * weight.shape[0] >= BLAS_MIN_OUTPUT and blas.takes(x, weight, bias):
            out = ctx.xp.empty((rows.shape[0], weight.shape[0]), x.dtype)  # (rows, out_features)
            out[...] = bias
            return blas.add_product(out, rows, weight.T).reshape(x.shape[:-1] + weight.shape[:1])
        out = (rows @ weight.T).reshape(x.shape[:-1] + weight.shape[:1])  # every leading axis is a row of one GEMM
        if bias is not None:
            if ctx.xp.result_type(out, bias) == out.dtype:
                out += bias  # in place: out is new
            else:
                out = out + bias  # a wider bias widens the result, as in x @ w.T + b
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording:
            return Linear.backward(ctx, grad)
        x, weight = ctx.saved_tensors
        grad_x = product(grad, weight) if ctx.needs_grad(0) else None  # (..., in_features)
        # (out, rows) @ (rows, in): the weight's gradient in the weight's own (out, in) layout
        grad_w = sum_of_outer_products(stack_rows(grad), stack_rows(x)) if ctx.needs_grad(1) else None
        grad_b = row_sum(ctx.xp, grad) if ctx.needs_grad(2) else None
        return grad_x, grad_w, grad_b


def row_sum(xp, grad):
    """grad (..., n) summed over every leading axis, (n,): a matrix-vector product with ones when large."""
    if grad.dtype.kind == "f" and grad.flags.c_contiguous and grad.size >= ROW_SUM_GEMV_MIN_SIZE:
        rows = stack_rows(grad)
        return xp.ones(rows.shape[0], dtype=grad.dtype) @ rows
    return grad.sum(axis=tuple(range(grad.ndim - 1)))  # a strided gradient: summed where it lies, no copy
