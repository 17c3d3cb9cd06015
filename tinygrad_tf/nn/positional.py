"""The paper's sinusoidal positional encoding."""
import math

import numpy as np

from autograd import Tensor, backend, mark

from .layers import Dropout
from .module import Module


def sinusoid_table(max_len, d_model):
    """PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)).  (max_len, d_model)"""
    position = np.arange(max_len)[:, None]  # (max_len, 1)
    rates = np.exp(np.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))  # (ceil(d/2),)
    table = np.zeros((max_len, d_model))
    table[:, 0::2] = np.sin(position * rates)
    table[:, 1::2] = np.cos(position * rates[: d_model // 2])
    return table


class PositionalEncoding(Module):
    """Adds the sinusoid table to its input (batch, len, d_model), then applies dropout.

    It does not scale its input: the Transformer multiplies embeddings by
    sqrt(d_model) before this. The table is a buffer, so it moves with the
    module and is saved in the state dict.
    """

    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super().__init__()
        self.d_model, self.max_len = d_model, max_len
        self.dropout = Dropout(dropout)
        self.register_buffer("pe", Tensor(sinusoid_table(max_len, d_model)))

    def forward(self, x, offset=0):
        """x (batch, len, d_model) holds positions offset .. offset + len - 1 (offset > 0 in cached decoding)."""
        length = offset + x.shape[-2]
        if length > self.max_len:
            raise ValueError(f"PositionalEncoding: sequence length {length} exceeds max_len={self.max_len}; build the model with a larger max_len")
        if x.shape[-1] != self.d_model:
            raise ValueError(f"PositionalEncoding: input has last axis {x.shape[-1]}, expected d_model={self.d_model}")
        table = self.pe[offset:length]
        table.name = "positional table"  # what pictures of the graph call it
        return self.dropout(mark(x + table, "+ positional table"))  # (batch, len, d_model) + (len, d_model)

    def _moved(self, dtype):
        if dtype is not None and self.pe.dtype.kind == "f":  # from the formula: float32's rounding not widened
            self.pe.data = backend.move(sinusoid_table(self.max_len, self.d_model).astype(self.pe.dtype), self.pe.device)

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}"
