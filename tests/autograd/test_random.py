"""autograd.random.splitmix64, NumPy and compiled forms, against the published generator."""
import numpy as np
import pytest

from autograd import cpu_kernels
from autograd.random import SPLITMIX_GAMMA, splitmix64

_MASK64 = (1 << 64) - 1


def _splitmix64_reference(seed, count):
    """The generator as published (Steele, Lea and Flood 2014; Vigna's C code), one Python int at a time."""
    state, outputs = seed, []
    for _ in range(count):
        state = (state + int(SPLITMIX_GAMMA)) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        outputs.append(z ^ (z >> 31))
    return outputs


def _forms():
    forms = [pytest.param(splitmix64, id="numpy")]
    if cpu_kernels.loops_module() is not None:
        forms.append(pytest.param(cpu_kernels.loops_module().splitmix64, id="compiled"))
    return forms


@pytest.mark.parametrize("form", _forms())
@pytest.mark.parametrize("seed", [0, 1234567, _MASK64])  # the largest seed wraps around at once
@pytest.mark.parametrize("count", [0, 1, 257])
def test_splitmix64_matches_the_published_generator(form, seed, count):
    out = np.empty(count, np.uint64)
    form(np.uint64(seed), out)
    assert out.tolist() == _splitmix64_reference(seed, count)


def test_splitmix64_gives_the_published_first_outputs():
    out = np.empty(3, np.uint64)
    splitmix64(np.uint64(1234567), out)
    assert out.tolist() == [6457827717110365317, 3203168211198807973, 9817491932198370423]
