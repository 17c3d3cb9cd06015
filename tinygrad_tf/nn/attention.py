"""Scaled dot-product attention and multi-head attention (section 3.2 of the paper)."""
import math

import numpy as np

import ops
from autograd import mark

from .layers import Dropout, Linear
from .module import Module


def scaled_dot_product_attention(q, k, v, mask=None, dropout=None):
    """softmax(Q K^T / sqrt(d_k), masked) V.

    Args:
        q: queries (..., q_len, d_k).
        k: keys (..., k_len, d_k).
        v: values (..., k_len, d_v).
        mask: boolean, broadcastable to (..., q_len, k_len); True = may attend.
            A query row with nothing to attend gets all-zero weights.
        dropout: a Dropout module applied to the weights, or None.

    Returns:
        (output (..., q_len, d_v), weights (..., q_len, k_len)).
    """
    scores = mark(ops.matmul(q, mark(k.swapaxes(-1, -2), "Kᵀ")), "scores QKᵀ")  # (..., q_len, k_len)
    scores = mark(scores / math.sqrt(q.shape[-1]), "scale 1/√d_k")
    if mask is not None:
        try:
            np.broadcast_shapes(tuple(mask.shape), scores.shape)
        except ValueError:
            raise ValueError(f"attention: mask of shape {tuple(mask.shape)} does not broadcast to the scores {scores.shape} (batch, heads, q_len, k_len)") from None
        # keep the score where the mask says "may attend", -inf elsewhere (softmax gives those 0)
        kind = (mask.name or "").partition(" mask")[0]  # "causal", "padding": see ops.causal_mask
        scores = mark(ops.where(mask, scores, -math.inf), f"mask ({kind})" if kind else "mask")
    weights = mark(ops.softmax(scores, axis=-1), "attention weights")
    if dropout is not None:
        weights = dropout(weights)
    return mark(ops.matmul(weights, v), "weights × V"), weights  # (..., q_len, d_v)


class MultiHeadAttention(Module):
    """Multi-head attention: h attentions on learned projections, concatenated, projected.

    Args:
        d_model: model width; split into `num_heads` heads of d_model / num_heads.
        num_heads: number of heads.
        dropout: dropout on the attention weights.

    After each call `.attention_weights` holds the weights (batch, heads, q_len, k_len).
    """

    # The attention forward runs: a function with scaled_dot_product_attention's arguments that returns
    # (output, weights) or the output alone. Set it on an instance (`mha.attention = my_attention`) to run
    # another in that module: the exercises run the learner's attention this way.
    attention = staticmethod(scaled_dot_product_attention)

    def __init__(self, d_model, num_heads, dropout=0.0):
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"MultiHeadAttention: d_model={d_model} is not divisible by num_heads={num_heads}")
        self.d_model, self.num_heads, self.d_k = d_model, num_heads, d_model // num_heads
        self.q_proj = Linear(d_model, d_model)
        self.k_proj = Linear(d_model, d_model)
        self.v_proj = Linear(d_model, d_model)
        self.out_proj = Linear(d_model, d_model)
        self.dropout = Dropout(dropout)
        self.attention_weights = None

    def _split_heads(self, x):
        batch, length, _ = x.shape
        x = mark(x.reshape(batch, length, self.num_heads, self.d_k), "split heads")
        return mark(x.swapaxes(1, 2), "split heads")  # (batch, heads, len, d_k)

    def forward(self, query, key, value, mask=None, cache=None):
        """query (batch, q_len, d_model), key/value (batch, k_len, d_model) -> (batch, q_len, d_model).

        `cache`, an `AttentionCache` (decoding only), keeps the projected keys
        and values between calls: the new ones are appended to it (or, for a
        static cache already filled, `key` and `value` are not projected again)
        and the queries attend to all of them.
        """
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.ndim != 3 or x.shape[-1] != self.d_model:
                raise ValueError(f"MultiHeadAttention: {name} must be (batch, len, {self.d_model}), got {x.shape}")
        q = self._split_heads(mark(self.q_proj(query), "Q"))  # (batch, heads, q_len, d_k)
        if cache is not None and cache.ready:
            k, v = cache.keys, cache.values  # (batch, heads, k_len, d_k), projected on an earlier step
        else:
            k = self._split_heads(mark(self.k_proj(key), "K"))  # (batch, heads, k_len, d_k)
            v = self._split_heads(mark(self.v_proj(value), "V"))  # (batch, heads, k_len, d_k)
            if cache is not None:
                k, v = cache.extend(k, v)  # (batch, heads, cached + k_len, d_k)
        out = self.attention(q, k, v, mask, self.dropout)
        out, weights = out if isinstance(out, tuple) else (out, None)
        self.attention_weights = None if weights is None else weights.detach()  # (batch, heads, q_len, k_len)
        batch, q_len = query.shape[0], query.shape[1]
        out = mark(out.swapaxes(1, 2), "merge heads")
        out = mark(out.reshape(batch, q_len, self.d_model), "merge heads")  # the heads side by side
        return mark(self.out_proj(out), "W_O (output projection)")

    def extra_repr(self):
        return f"d_model={self.d_model}, num_heads={self.num_heads}"
