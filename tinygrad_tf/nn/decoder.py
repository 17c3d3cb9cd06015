"""The decoder: masked self-attention, attention over the encoder, feed-forward (section 3.1)."""
from .attention import MultiHeadAttention
from .feed_forward import FeedForward
from .layers import LayerNorm
from .module import Module, clones
from .sublayer import SublayerConnection


class DecoderLayer(Module):
    """Masked self-attention (norm1), cross-attention over the memory (norm2), feed-forward (norm3).

    Args are those of `EncoderLayer`.
    """

    def __init__(self, d_model, num_heads, d_ff, dropout=0.1, norm_first=False, activation="relu"):
        super().__init__()
        self.d_model, self.norm_first = d_model, norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)
        self.norm3 = LayerNorm(d_model)
        self.residual1 = SublayerConnection(dropout, norm_first)
        self.residual2 = SublayerConnection(dropout, norm_first)
        self.residual3 = SublayerConnection(dropout, norm_first)

    def forward(self, x, memory, src_mask=None, tgt_mask=None, cache=None):
        """x (batch, tgt_len, d_model), memory (batch, src_len, d_model).

        tgt_mask broadcasts to (batch, heads, tgt_len, tgt_len) (causal and padding),
        src_mask to (batch, heads, tgt_len, src_len) (padding of the source).
        With `cache` (a `kv_cache.LayerCache`, decoding only) x holds just the
        new positions and tgt_mask covers (new, cached + new) keys.
        """
        self_cache, cross_cache = (None, None) if cache is None else (cache.self_attn, cache.cross_attn)
        x = self.residual1(x, lambda y: self.self_attn(y, y, y, tgt_mask, self_cache), self.norm1)
        x = self.residual2(x, lambda y: self.cross_attn(y, memory, memory, src_mask, cross_cache), self.norm2)
        return self.residual3(x, self.feed_forward, self.norm3)


class Decoder(Module):
    """`num_layers` copies of `layer`, with a final LayerNorm when the layers are pre-norm."""

    def __init__(self, layer, num_layers):
        super().__init__()
        self.layers = clones(layer, num_layers)
        self.norm = LayerNorm(layer.d_model) if layer.norm_first else None

    def forward(self, x, memory, src_mask=None, tgt_mask=None, cache=None):
        """`cache`: a `kv_cache.DecoderCache` (decoding only), one LayerCache per layer."""
        for i, layer in enumerate(self.layers):
            x = layer(x, memory, src_mask, tgt_mask, None if cache is None else cache.layers[i])
        return x if self.norm is None else self.norm(x)
