"""Attention masks (True = may attend) and `masked_fill`."""
import numpy as np

from autograd import Function, Tensor


class MaskedFill(Function):
    rule = "y = where(mask, value, x):  dx = where(mask, 0, dy)"
    broadcasting = True
    name = "masked_fill"

    @staticmethod
    def forward(ctx, x, mask, value):
        if mask.dtype != bool:
            raise ValueError(f"mask must be boolean, got {mask.dtype}")
        ctx.save_for_backward(mask)
        return ctx.xp.where(mask, value, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return ctx.F.where(mask, 0.0, grad), None, None


def masked_fill(x, mask, value):
    """`x` with `value` wherever `mask` (boolean, broadcastable to x) is True.

    Attention masks say True for "may attend", so hiding positions reads
    `masked_fill(scores, ~mask, -inf)`.
    """
    return MaskedFill.apply(x, mask, float(value))


def causal_mask(n, device="cpu"):
    """Boolean (n, n): entry [i, j] is True where position j <= i may be attended."""
    mask = Tensor(np.tril(np.ones((n, n), dtype=bool)), device=device)
    mask.name = "causal mask (True = may attend)"  # what pictures of the graph call it
    return mask


def padding_mask(tokens, pad_id):
    """Boolean (batch, 1, 1, len): True on real tokens, False on padding.

    The two size-1 axes broadcast over heads and query positions of the
    (batch, heads, q_len, k_len) attention scores.
    """
    tokens = tokens if isinstance(tokens, Tensor) else Tensor(np.asarray(tokens))
    if tokens.ndim != 2:
        raise ValueError(f"padding_mask: tokens must be (batch, len), got shape {tokens.shape}")
    mask = (tokens != pad_id).reshape(tokens.shape[0], 1, 1, tokens.shape[1])
    mask.name = "padding mask (True = real token)"  # what pictures of the graph call it
    return mask
