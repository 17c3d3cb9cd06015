"""Exercise: the backward of cross-entropy with label smoothing and ignored targets.

For a row of scores x (C classes) and its target class t, with label
smoothing s (as torch.nn.functional.cross_entropy defines it):

    p = softmax(x)
    q = (1 − s) · one_hot(t) + s / C           (the target distribution: s spread over all C classes)
    loss_row = −Σ_j q_j log p_j

The loss is the mean of loss_row over the N rows whose target is not
ignore_index (all rows when ignore_index is None). Its gradient:

    dx = (p − q) / N      on a row that counts,      0 on an ignored row

Check it with:  tinygrad-tf exercise check cross_entropy cross_entropy.py
"""
import numpy as np


def cross_entropy_backward(logits, targets, label_smoothing=0.0, ignore_index=None):
    """d(mean loss)/d(logits).

    Args:
        logits: scores (..., C).
        targets: integer class ids, logits' shape without its last axis.
        label_smoothing: s in [0, 1].
        ignore_index: targets equal to it add nothing and are not counted; None: every target counts.

    Returns:
        dlogits, logits' shape.
    """
    classes = logits.shape[-1]
    x, t = logits.reshape(-1, classes), targets.reshape(-1)
    counts = np.ones(t.shape, dtype=bool) if ignore_index is None else t != ignore_index
    p = np.exp(x - x.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    q = np.full_like(p, label_smoothing / classes)
    rows = np.arange(t.size)[counts]
    q[rows, t[counts]] += 1 - label_smoothing
    dx = (p - q) * counts[:, None] / max(counts.sum(), 1)
    return dx.reshape(logits.shape)
