"""autograd.allocator: freed memory kept for the next arrays (glibc), and nothing done elsewhere."""
import ctypes
import platform
import sys

import numpy as np
import pytest

from autograd import allocator


@pytest.fixture
def fresh(monkeypatch):
    """The module as if no call had been made yet in this process."""
    monkeypatch.setattr(allocator, "_kept", None)
    return allocator


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_on_glibc_the_thresholds_are_taken_once(fresh, monkeypatch):
    calls = []
    real = fresh._set_glibc_thresholds
    monkeypatch.setattr(fresh, "_set_glibc_thresholds", lambda: calls.append(1) or real())
    assert fresh.keep_freed_memory() is True
    assert fresh.keep_freed_memory() is True
    assert calls == [1]  # once per process
    mapped_before = _mapped_bytes()
    arrays = [np.ones(300_000, dtype=np.float32) for _ in range(8)]  # 1.2 MB each: mmap'ed by default
    assert _mapped_bytes() == mapped_before  # they came from the heap, which keeps what is freed
    assert all(float(a.sum()) == 300_000 for a in arrays)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _mapped_bytes():
    """Bytes glibc holds in blocks mapped straight from the OS (mallinfo2's hblkhd)."""
    libc = ctypes.CDLL("libc.so.6")
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("glibc older than 2.33 has no mallinfo2")
    libc.mallinfo2.restype = _MallInfo2
    return libc.mallinfo2().hblkhd


def test_elsewhere_nothing_changes(fresh, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert fresh.keep_freed_memory() is False


def test_a_c_library_without_glibc_is_left_alone(fresh, monkeypatch):
    class Musl:  # mallopt exists, gnu_get_libc_version does not
        mallopt = staticmethod(lambda *a: 1)

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: Musl())
    assert fresh.keep_freed_memory() is False
