"""Shared fixtures: the device every op test runs on, torch, seeded random numbers.

One suite serves both backends: tests take the `device` fixture and run once
on "cpu" (NumPy) and once on "cuda" (CuPy), which skips without a GPU.
"""
import functools
import os
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Run from a plain checkout too (`pytest` without `pip install -e .`).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import autograd  # noqa: E402

# Modest example counts keep the whole suite within a few minutes on two cores.
settings.register_profile(
    "tinygrad_tf",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "tinygrad_tf"))

DEVICES = ("cpu", "cuda")


@functools.lru_cache(maxsize=None)
def _cuda_available():
    # asked once: without CuPy every call would retry the failing import
    return autograd.cuda_available()


@pytest.fixture(params=DEVICES)
def device(request):
    """"cpu", or "cuda" when CuPy sees a GPU (otherwise the test is skipped)."""
    if request.param == "cuda" and not _cuda_available():
        pytest.skip('device "cuda" needs CuPy and a GPU (pip install -e .[cuda])')
    return request.param


@pytest.fixture
def torch():
    """The torch module; the test is skipped when torch is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    """A fixed-seed NumPy generator, so failures reproduce."""
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _readable_forms():
    """Every test starts with the readable forms, as a user does, whatever a test before it turned on."""
    import ops

    with ops.fast.disable():
        yield


@pytest.fixture(autouse=True)
def _restore_grad_mode():
    """A test that fails inside no_grad() must not leave recording off for the next one."""
    yield
    autograd.set_grad_enabled(True)


@pytest.fixture
def torch_lazy():
    """torch, or None when it is not installed, for tests that check NumPy and gradcheck
    first and compare with torch last (`helper_test_op` then skips), so the first
    two checks still run on a machine without torch."""
    try:
        import torch
    except ImportError:
        return None
    return torch
