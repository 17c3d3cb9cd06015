"""Inverted dropout: zero activations at random while training, scale the rest."""
import math

import numpy as np

from autograd import Function
from autograd.random import generator, splitmix64

from .dispatch import form


class Dropout(Function):
    rule = "y = x·m/(1-p):  dx = dy·m/(1-p)  (m: the same random mask)"
    name = "dropout"  # the compiled form (ops.fast.compiled) is drawn under this name too

    @staticmethod
    def forward(ctx, x, p, rng):
        keep, scale = _keep_mask(ctx.xp, rng, x.shape, p)
        ctx.save_for_backward(keep)  # a boolean mask: a quarter of the memory of a float one
        ctx.scale = scale
        out = x * keep
        out *= scale  # in place: out is new
        return out

    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        grad = grad * keep
        grad *= ctx.scale  # in place for an array; a new recorded op for a Tensor
        return grad, None, None


def _keep_mask(xp, rng, shape, p):
    """(mask, scale): True with probability 1 - p, and 1 / (1 - p), the factor that keeps the expected value."""
    if p >= 1:
        return xp.zeros(shape, dtype=bool), 0.0
    if xp is np:
        return random_bits(rng, shape) >= keep_threshold(p), keep_scale(p)
    return rng.random(shape, dtype=np.float32) >= p, keep_scale(p)


def random_bits(rng, shape, splitmix=None):
    """Uniform 16-bit integers of `shape`, four cut from each 64-bit output of SplitMix64 seeded by one draw of `rng`.

    SplitMix64 (`autograd.random.splitmix64`) makes its i-th output by mixing
    seed + i·γ: a counter-based generator, as the Philox that GPU frameworks
    use for dropout. Any stretch of it is computed at once, so the compiled
    form fills the same words in one vectorised loop (`splitmix`), several
    times faster than drawing them one by one from `rng`, and gets the same
    mask. Comparing the integers with `keep_threshold(p)` drops with
    probability p to within 1/131072.

    Args:
        rng: a NumPy Generator; each call takes one 64-bit draw from it.
        shape: the mask's shape.
        splitmix: a function like `splitmix64` that fills its `out` (default: NumPy's form).
    """
    n = math.prod(shape)
    words = np.empty((n + 3) // 4, np.uint64)
    (splitmix or splitmix64)(np.uint64(rng.bit_generator.random_raw()), words)
    return words.view(np.uint16)[:n].reshape(shape)


def keep_scale(p):
    """1 / (1 - p): what a kept element is multiplied by, so that the expected value stays the same."""
    return 1.0 / (1.0 - p)


def keep_threshold(p):
    """The 16-bit value at and above which `random_bits` keeps an element: kept with probability 1 - p."""
    return round(p * 65536)


def dropout(x, p=0.5, training=True, rng=None):
    """Zero each element with probability `p` and scale survivors by 1/(1-p).

    Args:
        x: input tensor.
        p: drop probability in [0, 1].
        training: identity when False (evaluation).
        rng: a NumPy/CuPy Generator; defaults to the device's seeded one
            (`autograd.manual_seed`).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    return form(Dropout, x).apply(x, p, rng if rng is not None else generator(x.device))
