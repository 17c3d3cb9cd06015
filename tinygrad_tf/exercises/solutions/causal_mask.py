"""Exercise: the decoder's causal mask (section 3.2.3 of the paper).

In the decoder's self-attention, position i may attend to positions
j = 0 .. i (itself and the words before it), never to later ones, which are
the words it must learn to predict. The mask is boolean, True = may attend:

    mask[i, j] = (j <= i)

Check it with:  tinygrad-tf exercise check causal_mask causal_mask.py
"""
import numpy as np


def causal_mask(n):
    """The (n, n) boolean mask: entry [i, j] is True where query i may attend to key j.

    Args:
        n: the sequence length.

    Returns:
        A bool array (n, n).
    """
    return np.arange(n)[None, :] <= np.arange(n)[:, None]
