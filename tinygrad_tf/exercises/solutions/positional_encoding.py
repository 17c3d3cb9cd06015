"""Exercise: the paper's sinusoidal positional encoding (section 3.5).

For position pos and feature index 2i or 2i + 1:

    PE[pos, 2i]     = sin(pos / 10000^(2i / d_model))
    PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model))

Even columns hold sines, odd columns cosines, the pair 2i, 2i + 1 sharing
one frequency. When d_model is odd the last column is a sine.

Check it with:  tinygrad-tf exercise check positional_encoding positional_encoding.py
"""
import numpy as np


def positional_encoding(max_len, d_model):
    """The table of sines and cosines.

    Args:
        max_len: the number of positions (0 .. max_len - 1).
        d_model: the model's width.

    Returns:
        A float array (max_len, d_model).
    """
    position = np.arange(max_len)[:, None]  # (max_len, 1)
    angles = position / 10000 ** (np.arange(0, d_model, 2) / d_model)  # (max_len, ceil(d_model / 2))
    table = np.zeros((max_len, d_model))
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, : d_model // 2])
    return table
