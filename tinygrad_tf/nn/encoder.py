"""The encoder: a stack of self-attention + feed-forward layers (section 3.1)."""
from .attention import MultiHeadAttention
from .feed_forward import FeedForward
from .layers import LayerNorm
from .module import Module, clones
from .sublayer import SublayerConnection


class EncoderLayer(Module):
    """Self-attention then feed-forward, each inside a residual connection with layer norm.

    Args:
        d_model, num_heads, d_ff: widths (the paper: 512, 8, 2048).
        dropout: on the residual branches, the attention weights and inside the FFN.
        norm_first: pre-norm instead of the paper's post-norm.
        activation: "relu" (the paper) or "gelu".
    """

    def __init__(self, d_model, num_heads, d_ff, dropout=0.1, norm_first=False, activation="relu"):
        super().__init__()
        self.d_model, self.norm_first = d_model, norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)
        self.residual1 = SublayerConnection(dropout, norm_first)
        self.residual2 = SublayerConnection(dropout, norm_first)

    def forward(self, x, src_mask=None):
        """x (batch, src_len, d_model); src_mask broadcastable to (batch, heads, src_len, src_len)."""
        x = self.residual1(x, lambda y: self.self_attn(y, y, y, src_mask), self.norm1)
        return self.residual2(x, self.feed_forward, self.norm2)


class Encoder(Module):
    """`num_layers` copies of `layer`, with a final LayerNorm when the layers are pre-norm."""

    def __init__(self, layer, num_layers):
        super().__init__()
        self.layers = clones(layer, num_layers)
        self.norm = LayerNorm(layer.d_model) if layer.norm_first else None

    def forward(self, x, src_mask=None):
        for layer in self.layers:
            x = layer(x, src_mask)
        return x if self.norm is None else self.norm(x)
