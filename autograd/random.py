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
