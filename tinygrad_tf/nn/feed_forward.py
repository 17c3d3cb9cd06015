"""The position-wise feed-forward network (section 3.3 of the paper)."""
import ops

from .layers import Dropout, Linear
from .module import Module

ACTIVATIONS = {"relu": ops.relu, "gelu": ops.gelu}


class FeedForward(Module):
    """FFN(x) = linear2(dropout(activation(linear1(x)))), applied to every position alike."""

    def __init__(self, d_model, d_ff, dropout=0.1, activation="relu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"FeedForward: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        self.linear1 = Linear(d_model, d_ff)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(d_ff, d_model)

    def forward(self, x):
        hidden = ACTIVATIONS[self.activation](self.linear1(x))  # (batch, len, d_ff)
        return self.linear2(self.dropout(hidden))  # (batch, len, d_model)

    def extra_repr(self):
        return f"activation={self.activation}"
