"""Seedable random generators, one per device (dropout and initialisation draw from them)."""
import numpy as np

from . import backend

_generators = {}
_seed = None


def manual_seed(seed):
    """Reseed the generators of every device, for reproducible runs."""
    global _seed
    _seed = int(seed)
    _generators.clear()


def generator(device="cpu"):
    """The device's generator (numpy.random.Generator or its CuPy twin)."""
    if device not in _generators:
        xp = backend.xp_for(device)
        _generators[device] = xp.random.default_rng(_seed)
    return _generators[device]


# SplitMix64 (Steele, Lea and Flood, 2014): output i is seed + i·GAMMA, mixed by two multiply-xorshift rounds.
SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # 2^64 divided by the golden ratio: the counter's step
SPLITMIX_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
SPLITMIX_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31))


def splitmix64(seed, out):
    """out[i] = SplitMix64's output number i + 1 after `seed`, for a uint64 array `out` (arithmetic wraps, as in C).

    A counter-based generator: any stretch of its outputs is computed at once,
    without stepping through the ones before (dropout's masks use it; the
    compiled form, `autograd.cpu_kernels.loops.splitmix64`, makes the same words).
    """
    (mix1, mix2), (shift1, shift2, shift3) = SPLITMIX_MIX, SPLITMIX_SHIFTS
    np.multiply(np.arange(1, out.size + 1, dtype=np.uint64), SPLITMIX_GAMMA, out=out)
    out += seed
    out ^= out >> shift1
    out *= mix1
    out ^= out >> shift2
    out *= mix2
    out ^= out >> shift3
