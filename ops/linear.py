"""The affine map of a fully connected layer, x @ weight.T + bias, as one node.

One node instead of a matmul and an add is what `torch.nn.functional.linear`
(addmm) does too: on NumPy the GEMM adds the product to the bias already in
the output (`autograd.blas`), elsewhere the bias is added in place to the
product just written, and the backward needs no separate add node. The composed form
(`fused=False`) draws the textbook graph and gives the same numbers.
"""
from autograd import Function, blas

from .matmul import _product, _stack_rows, matmul, sum_of_outer_products

# From this many output elements up the BLAS call (a few microseconds more than NumPy's) costs less than
# the second pass over the output it saves; smaller outputs are still in cache for that pass.
BLAS_MIN_OUTPUT = 32768


class Linear(Function):
    rule = "y = x·Wᵀ + b:  dx = dy·W,  dW = dyᵀ·x,  db = Σ_rows dy"
    broadcasting = True
    name = "linear"

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        rows = _stack_rows(x)  # (rows, in_features)
        if bias is not None and rows.shape[0] * weight.shape[0] >= BLAS_MIN_OUTPUT and blas.takes(x, weight, bias):
            # the bias first, the product added to it inside the GEMM: no second pass over out
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
        x, weight = ctx.saved_tensors
        grad_x = _product(grad, weight) if ctx.needs_grad(0) else None  # (..., in_features)
        # (out, rows) @ (rows, in): the weight's gradient in the weight's own (out, in) layout
        grad_w = sum_of_outer_products(_stack_rows(grad), _stack_rows(x)) if ctx.needs_grad(1) else None
        # The bias was broadcast over every row: the engine sums the rows back (sum_to).
        return grad_x, grad_w, grad if ctx.needs_grad(2) else None


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
        return Linear.apply(x, weight, bias)
    y = matmul(x, weight.T)
    return y if bias is None else y + bias


def _shapes(x, weight, bias):
    return f"input {tuple(x.shape)}, weight {tuple(weight.shape)}" + ("" if bias is None else f", bias {tuple(bias.shape)}")
