"""autograd.allocator: freed memory kept for the next arrays (glibc), and nothing done elsewhere."""
import ctypes
import os
import platform
import subprocess
import sys

import pytest

from autograd import allocator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def fresh(monkeypatch):
    """The module as if no call had been made yet in this process."""
    monkeypatch.setattr(allocator, "_kept", None)
    return allocator


GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Steps of a training loop, in miniature: arrays of 0.6 to 8 MB made and freed again; prints the page
# faults of five steps after the first.
_STEPS = """
import resource, sys
import numpy as np
from autograd import allocator
if sys.argv[1] == "keep":
    assert allocator.keep_freed_memory() is True
sizes = [300_000, 1_000_000, 150_000, 600_000, 2_000_000] * 4
def step():
    arrays = [np.ones(n, dtype=np.float32) for n in sizes]
    return sum(float(a[-1]) for a in arrays)
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode):
    """Page faults of the miniature steps in a fresh interpreter (the allocator's state is per process)."""
    done = subprocess.run([sys.executable, "-c", _STEPS, mode], capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    return int(done.stdout.strip())


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_with_freed_memory_kept_later_steps_take_no_page_faults():
    default, kept = _page_faults("default"), _page_faults("keep")
    if default < 100:  # e.g. transparent huge pages for every allocation: few faults to save
        pytest.skip(f"this machine's default allocator took only {default} page faults")
    # by default glibc gives the memory back and the next step's arrays fault it in again (about 50,000
    # faults on a Debian machine with 4 KB pages); kept, the same pages are reused
    assert kept * 20 < default


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_the_setting_is_made_once_per_process(fresh, monkeypatch):
    calls = []
    real = fresh._set_glibc_thresholds
    monkeypatch.setattr(fresh, "_set_glibc_thresholds", lambda: calls.append(1) or real())
    assert fresh.keep_freed_memory() is True
    assert fresh.keep_freed_memory() is True
    assert calls == [1]


def test_elsewhere_nothing_changes(fresh, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert fresh.keep_freed_memory() is False


def test_a_c_library_without_glibc_is_left_alone(fresh, monkeypatch):
    class Musl:  # mallopt exists, gnu_get_libc_version does not
        mallopt = staticmethod(lambda *a: 1)

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: Musl())
    assert fresh.keep_freed_memory() is False
