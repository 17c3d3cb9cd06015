"""How the process's C allocator treats the memory NumPy arrays free: kept for reuse, or handed back.

A training step makes hundreds of arrays of 100 KB to a few MB and frees them
again. glibc's malloc hands such memory back to the operating system: a block
above its mmap threshold (128 KB at first, raised as large blocks are freed)
is unmapped when freed, and free memory at the top of its heap beyond the trim
threshold is returned. The next arrays then get fresh pages, and every 4 KB
page they touch first takes a page fault: about a tenth of a small model's
step on the CPU. Fixing a high mmap threshold and never trimming keeps freed
memory in the process for the next arrays, whose pages are then already
mapped. The cost is memory: the process keeps its high-water mark until it
exits, and the holes between live arrays count in it (`tinygrad-tf bench
memory --config toy`: a step's peak 284 MB instead of 161 MB; PyTorch's is
440 MB).
"""
import ctypes
import sys

# mallopt parameters (malloc.h); blocks above MMAP_THRESHOLD still come straight from the OS.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit machines
TRIM_THRESHOLD = 2**31 - 1  # never give the top of the heap back

_kept = None


def keep_freed_memory():
    """Keep memory that arrays free in the process, for the next arrays (glibc on Linux; once per process).

    `Trainer.fit` and the benchmarks' training steps call it; call it yourself
    in your own CPU training loop for the same speed.

    Returns:
        True where the allocator took the setting, False where there is no
        glibc (macOS, Windows, musl) and nothing changed.
    """
    global _kept
    if _kept is None:
        _kept = _set_glibc_thresholds()
    return _kept


def _set_glibc_thresholds():
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library the process already runs on
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # only glibc has it; musl's mallopt does nothing
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
