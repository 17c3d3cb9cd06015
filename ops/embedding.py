"""Embedding lookup: rows of a weight matrix picked by token ids."""
from autograd import Tensor

from .shape import GetItem


class Embedding(GetItem):
    """weight[indices]; backward scatter-adds, so a repeated token collects every gradient."""

    name = "embedding"


def embedding(indices, weight):
    """Look up rows of `weight` (num_embeddings, dim) for integer `indices` of any shape.

    Returns:
        A tensor of shape indices.shape + (dim,).
    """
    idx = indices.to(weight.device).data if isinstance(indices, Tensor) else Tensor(indices, device=weight.device).data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {idx.dtype}")
    return Embedding.apply(weight, idx)
