"""Embedding lookup: rows of a weight matrix picked by token ids."""
from autograd import Tensor

from .dispatch import form
from .shape import GetItem


class Embedding(GetItem):
    """weight[indices]; backward scatter-adds, so a repeated token collects every gradient."""
    rule = "y = W[ids]:  dW[i] = Σ of dy over the positions holding id i"

    name = "embedding"

    @staticmethod
    def forward(ctx, weight, index, padding_idx):
        ctx.padding_idx = padding_idx
        return GetItem.forward(ctx, weight, index)

    @staticmethod
    def backward(ctx, grad):
        grad_weight, _ = GetItem.backward(ctx, grad)
        if ctx.padding_idx is not None and not ctx.recording:  # the padding row never learns
            grad_weight[ctx.padding_idx] = 0  # in place: the scatter made a new array
        elif ctx.padding_idx is not None:
            keep = ctx.xp.ones((grad_weight.shape[0], 1), dtype=grad_weight.dtype)
            keep[ctx.padding_idx] = 0
            grad_weight = grad_weight * keep
        return grad_weight, None, None


def embedding(indices, weight, padding_idx=None):
    """Look up rows of `weight` (num_embeddings, dim) for integer `indices` of any shape.

    Args:
        indices: integer ids (Tensor or array) of any shape.
        weight: the table, (num_embeddings, dim).
        padding_idx: a row that receives no gradient (as in PyTorch).

    Returns:
        A tensor of shape indices.shape + (dim,).
    """
    idx = indices.to(weight.device).data if isinstance(indices, Tensor) else Tensor(indices, device=weight.device).data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {idx.dtype}")
    return form(Embedding, weight).apply(weight, idx, padding_idx)
