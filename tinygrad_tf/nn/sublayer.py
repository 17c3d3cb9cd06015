"""The residual connection around each sublayer (section 5.4 of the paper)."""
from autograd import mark

from .layers import Dropout
from .module import Module


class SublayerConnection(Module):
    """Residual connection with layer norm, post-norm (the paper) or pre-norm.

    post-norm: LayerNorm(x + Dropout(Sublayer(x)))
    pre-norm:  x + Dropout(Sublayer(LayerNorm(x)))

    The LayerNorm belongs to the enclosing layer (norm1, norm2, ...) and is
    passed in, so state-dict keys match PyTorch's Transformer layers.
    """

    def __init__(self, dropout, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.dropout = Dropout(dropout)

    def forward(self, x, sublayer, norm):
        if self.norm_first:
            return mark(x + self.dropout(sublayer(norm(x))), "residual x + sublayer")
        return norm(mark(x + self.dropout(sublayer(x)), "residual x + sublayer"))

    def extra_repr(self):
        return "pre-norm" if self.norm_first else "post-norm"
