"""The compiled loops (numba): each row, or element, done in one or two passes while it is in cache.

Each is the same math as the op's readable Function (see its file in `ops/`)
or as `Adam._update_piece`. Arrays are C-contiguous; `cache=True` keeps the
machine code on disk after the first compilation.

Loops that sum along a row (`_ROWS`) let the compiler reorder the sum to
vectorise it, so their results may differ from NumPy's in the last bits; NaN
and infinity keep their meaning (no "finite math" assumption). Element-wise
loops (`_ELEMENTS`) follow IEEE arithmetic strictly: the same operations in
the same order as the NumPy forms, so the same bits.
"""
import math

import numpy as np
from numba import njit

from ..random import SPLITMIX_GAMMA, SPLITMIX_MIX, SPLITMIX_SHIFTS

_ELEMENTS = dict(cache=True, nogil=True, error_model="numpy")  # x / 0 is inf or NaN, as in NumPy: no check per division
_ROWS = dict(_ELEMENTS, fastmath={"reassoc", "contract", "arcp", "nsz"})
# numba compiles module globals in as constants
_GAMMA, (_MIX1, _MIX2), (_SHIFT1, _SHIFT2, _SHIFT3) = SPLITMIX_GAMMA, SPLITMIX_MIX, SPLITMIX_SHIFTS


@njit(**_ROWS)
def layer_norm_forward(x, weight, bias, eps, out, x_hat, rstd):
    """Rows of x (n, d): x_hat = (x - mean) * rstd, out = x_hat * weight + bias; rstd (n,) written too."""
    n, d = x.shape
    zero = x.dtype.type(0)
    for i in range(n):
        mean = zero
        for j in range(d):
            mean += x[i, j]
        mean /= d
        var = zero
        for j in range(d):
            c = x[i, j] - mean
            var += c * c
        r = 1 / math.sqrt(var / d + eps)
        rstd[i] = r
        for j in range(d):
            h = (x[i, j] - mean) * r
            x_hat[i, j] = h
            out[i, j] = h * weight[j] + bias[j]


@njit(**_ROWS)
def layer_norm_backward(g, x_hat, rstd, weight, grad_x, grad_w, grad_b):
    """dx = rstd * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)), g_hat = g * weight; dw, db summed over rows.

    grad_x may be x_hat's own memory: each element is read before it is written.
    """
    n, d = g.shape
    zero = g.dtype.type(0)
    grad_w[:] = zero
    grad_b[:] = zero
    for i in range(n):
        mean_g = zero
        mean_gx = zero
        for j in range(d):
            gh = g[i, j] * weight[j]
            mean_g += gh
            mean_gx += gh * x_hat[i, j]
            grad_w[j] += g[i, j] * x_hat[i, j]
            grad_b[j] += g[i, j]
        mean_g /= d
        mean_gx /= d
        r = rstd[i]
        for j in range(d):
            grad_x[i, j] = r * (g[i, j] * weight[j] - mean_g - x_hat[i, j] * mean_gx)


@njit(**_ROWS)
def shift_rows(x, row_max, t, shifted, target_shifted, mean_shifted):
    """shifted = x - row_max; per row, the shifted score at target t and the mean shifted score.

    The maxima come from NumPy's vectorised max: a compiled running maximum
    waits on each comparison in turn (NaN rules keep it from vectorising).
    """
    n, c = x.shape
    for i in range(n):
        m = row_max[i]
        total = x.dtype.type(0)
        for j in range(c):
            s = x[i, j] - m
            shifted[i, j] = s
            total += s
        target_shifted[i] = x[i, t[i]] - m
        mean_shifted[i] = total / c


@njit(**_ROWS)
def normalize_rows(e, row_total):
    """e (exponentials) divided by its row sums, in place; the sums go to row_total. A row summing to 0 stays 0."""
    n, c = e.shape
    for i in range(n):
        total = e.dtype.type(0)
        for j in range(c):
            total += e[i, j]
        row_total[i] = total
        inv = 1 / total if total != 0 else e.dtype.type(1)  # a fully masked row: 0 / 1, as in softmax
        for j in range(c):
            e[i, j] *= inv


@njit(**_ELEMENTS)
def shift_by_row_max(x, shifted):
    """shifted = x - max of its row, the maximum taken as 0 where it is not finite (a fully masked row stays -inf).

    A running maximum: for the short rows of attention scores that is one pass.
    """
    n, c = x.shape
    for i in range(n):
        m = x[i, 0]
        for j in range(1, c):
            if x[i, j] > m or x[i, j] != x[i, j]:  # NaN wins, as in max
                m = x[i, j]
        if not math.isfinite(m):
            m = x.dtype.type(0)
        for j in range(c):
            shifted[i, j] = x[i, j] - m


@njit(**_ROWS)
def softmax_backward(g, y, dx):
    """dx = y * (g - sum(g * y)) per row."""
    n, c = g.shape
    for i in range(n):
        total = g.dtype.type(0)
        for j in range(c):
            total += g[i, j] * y[i, j]
        for j in range(c):
            dx[i, j] = y[i, j] * (g[i, j] - total)


@njit(**_ELEMENTS)
def softmax_minus_target(probs, t, row_scale, spread, on_target, out):
    """(probs - q) * row_scale per row, q = (1 - s) one_hot(t) + s / C, given spread = s / C and on_target = 1 - s.

    The in-place form's operations in its order. out may be probs' own memory.
    """
    n, c = probs.shape
    for i in range(n):
        r = row_scale[i]
        shift = r * spread
        for j in range(c):
            out[i, j] = probs[i, j] * r - shift
        out[i, t[i]] -= on_target * r


@njit(**_ELEMENTS)
def masked_scale(x, keep, scale, out):
    """out = x * (scale where keep, else 0) (flat arrays): dropout's and ReLU's backward.

    A multiplication, not a choice, so a NaN stays NaN where it is dropped, as in x * mask.
    """
    zero = x.dtype.type(0)
    for i in range(x.size):
        out[i] = x[i] * (scale if keep[i] else zero)


@njit(**_ELEMENTS)
def splitmix64(seed, out):
    """out[i] = SplitMix64's output number i + 1 after `seed`: `autograd.random.splitmix64`'s steps, vectorised."""
    for i in range(out.size):
        z = seed + np.uint64(i + 1) * _GAMMA
        z = (z ^ (z >> _SHIFT1)) * _MIX1
        z = (z ^ (z >> _SHIFT2)) * _MIX2
        out[i] = z ^ (z >> _SHIFT3)


@njit(**_ELEMENTS)
def dropout_forward(x, bits, threshold, scale, out, keep):
    """keep = bits >= threshold; out = x * scale where kept, else 0 (flat arrays), in one pass."""
    zero = x.dtype.type(0)
    for i in range(x.size):
        k = bits[i] >= threshold
        keep[i] = k
        out[i] = x[i] * (scale if k else zero)


@njit(**_ELEMENTS)
def add_rows(target, index, values):
    """target[index[i]] += values[i] for each i in turn (2-D target and values, 1-D index): add.at's order."""
    for i in range(index.size):
        row = index[i]
        for j in range(values.shape[1]):
            target[row, j] += values[i, j]


@njit(**_ELEMENTS)
def relu_forward(x, out, positive):
    """out = max(x, 0) and positive = x > 0 (flat arrays), in one pass (max keeps a NaN, as NumPy's)."""
    for i in range(x.size):
        positive[i] = x[i] > 0
        out[i] = 0 if x[i] <= 0 else x[i]


@njit(**_ELEMENTS)
def adam_update(param, grad, m, v, b1, one_minus_b1, b2, one_minus_b2, step_size, eps):
    """One Adam step in place on flat param, m, v: Adam._update_piece's operations, in its order, per element.

    The scalars come in the arrays' dtype, 1 - b computed before rounding, as NumPy gets them.
    """
    for i in range(param.size):
        g = grad[i]
        m[i] = m[i] * b1 + g * one_minus_b1
        v[i] = v[i] * b2 + g * g * one_minus_b2
        param[i] -= m[i] / (math.sqrt(v[i]) + eps) * step_size
