"""Reductions along the last axis that NumPy runs slowly, done faster.

NumPy reduces each short row on its own; for the rows of attention scores,
layer norm and the loss that is several times slower than the same sums as a
matrix-vector product (BLAS), or the same maxima as a few whole-array steps.
"""

# Rows at most this long take their maximum by pairwise halving (attention rows
# are 10 to 50 long); longer rows are few enough per element for NumPy's own max.
PAIRWISE_MAX_LONGEST_ROW = 64


def row_sum(xp, a, axis=-1):
    """The sum along `axis`, kept as a size-1 axis."""
    if axis in (-1, a.ndim - 1) and a.ndim and a.dtype.kind == "f" and a.flags.c_contiguous:
        n = a.shape[-1]
        return (a.reshape(-1, n) @ xp.ones(n, dtype=a.dtype)).reshape(a.shape[:-1] + (1,))
    return a.sum(axis=axis, keepdims=True)


def row_max(xp, a, axis=-1):
    """The maximum along `axis`, kept as a size-1 axis (NaN wins, as in `max`).

    A short last axis is halved pairwise: the same comparisons as a handful of
    whole-array `maximum`s.
    """
    if axis not in (-1, a.ndim - 1) or not 1 < a.shape[-1] <= PAIRWISE_MAX_LONGEST_ROW:
        return a.max(axis=axis, keepdims=True)
    while a.shape[-1] > 1:
        half = a.shape[-1] // 2
        m = xp.maximum(a[..., :half], a[..., half : 2 * half])
        if a.shape[-1] % 2:
            xp.maximum(m[..., :1], a[..., -1:], out=m[..., :1])
        a = m
    return a
