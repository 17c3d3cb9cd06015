"""The fast forms of the fused ops, and the one place that picks which form runs.

Each fused op (softmax, log_softmax, layer_norm, cross_entropy, gelu) is
written once as its math, in its own file (`ops/softmax.py`, ...): that
Function is what a learner reads and what the tests hold everything else to.
The same math also exists in forms that make fewer passes over memory:

- `in_place`: on any backend's arrays, one new array per op and the other
  steps in place, row sums as matrix-vector products (`rows`);
- `kernels`: on CuPy float32/float64 arrays reduced over the last axis, one
  CUDA kernel each way (`autograd.cuda_kernels`).

They are subclasses of the readable Functions (same name in the graph, same
saved values), so a recorded backward (`create_graph=True`) falls back to the
readable backward. `variant` is the one dispatch point; `readable_only()`
turns the fast forms off, to step through the math itself.
"""
import contextlib
import functools

from autograd import cuda_kernels

_enabled = True


def variant(op, x, axis=-1):
    """The Function that runs the fused op `op` on the Tensor `x` (reduced over `axis`).

    Returns:
        `op`'s CUDA-kernel form where the kernels take `x`, else its in-place
        form, else `op` itself (also for ops without fast forms, and inside
        `readable_only()`).
    """
    forms = _forms().get(op) if _enabled else None
    if forms is None:
        return op
    in_place_form, kernel_form = forms
    if kernel_form is not None and x.device == "cuda" and cuda_kernels.takes(x.dtype, x.ndim, axis):
        return kernel_form
    return in_place_form or op


@contextlib.contextmanager
def readable_only():
    """Within this block every fused op runs as written in its own file (slower, same math)."""
    global _enabled
    before, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = before


@functools.lru_cache(maxsize=None)
def _forms():
    """{readable Function: (in-place form or None, kernel form or None)}.

    Imported on first use, not at the top: the fast forms subclass the
    readable Functions, whose modules import this one to call `variant`.
    """
    from ..activation import GELU
    from ..loss import CrossEntropy
    from ..normalization import LayerNorm
    from ..softmax import LogSoftmax, Softmax
    from .in_place import CrossEntropyInPlace, LayerNormInPlace, LogSoftmaxInPlace, SoftmaxInPlace
    from .kernels import CrossEntropyKernel, GELUKernel, LayerNormKernel, LogSoftmaxKernel, SoftmaxKernel

    return {
        Softmax: (SoftmaxInPlace, SoftmaxKernel),
        LogSoftmax: (LogSoftmaxInPlace, LogSoftmaxKernel),
        LayerNorm: (LayerNormInPlace, LayerNormKernel),
        CrossEntropy: (CrossEntropyInPlace, CrossEntropyKernel),
        GELU: (None, GELUKernel),
    }
