"""Exercise: scaled dot-product attention (section 3.2.1 of the paper), written with ops.

    Attention(Q, K, V) = softmax(Q Kᵀ / sqrt(d_k)) V

Q is (..., q_len, d_k), K is (..., k_len, d_k), V is (..., k_len, d_v). The
softmax runs over the keys (the last axis of the scores). The mask is boolean,
broadcastable to the scores (..., q_len, k_len), True where a query may
attend to a key: the scores where it is False become −inf before the softmax,
so those keys get weight 0 (ops.where chooses between two values by a mask).

The arguments are Tensors; use ops (ops.matmul, ops.softmax, ops.where, ...)
and Tensor methods (k.swapaxes(-1, -2), scores / 2.0, ...), so that the
whole computation is in the graph and backward runs through it.

Check it with:  tinygrad-tf exercise check attention attention.py
"""
import math

import ops


def attention(q, k, v, mask=None):
    """softmax(Q Kᵀ / sqrt(d_k), masked) V.

    Args:
        q: queries, a Tensor (..., q_len, d_k).
        k: keys, a Tensor (..., k_len, d_k).
        v: values, a Tensor (..., k_len, d_v).
        mask: a boolean Tensor broadcastable to (..., q_len, k_len), True = may attend; or None.

    Returns:
        The output, a Tensor (..., q_len, d_v).
    """
    scores = ops.matmul(q, k.swapaxes(-1, -2)) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = ops.where(mask, scores, -math.inf)
    return ops.matmul(ops.softmax(scores, axis=-1), v)
