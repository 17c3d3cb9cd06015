"""The fast forms of the fused ops, and the one place that picks which form runs.

Each fused op (softmax, log_softmax, layer_norm, cross_entropy, gelu) is
written once as its math, in its own file (`ops/softmax.py`, ...): that
Function is what a learner reads and what the tests hold everything else to.
The same math also exists in forms that make fewer passes over memory:

- `in_place`: on any backend's arrays, one new array per op and the other
  steps in place, row sums as matrix-vector products (`rows`);
- `kernels`: on CuPy float32/float64 arrays reduced over the last axis, one
  CUDA kernel each way (`autograd.cuda_kernels`);
- `compiled`: on NumPy float32/float64 arrays, compiled loops that do each
  row in cache (`autograd.cpu_kernels`), where numba is installed; these also cover
  dropout and ReLU (one pass for the mask and the product).

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
        `op`'s CUDA-kernel form where the kernels take `x`, else its compiled
        form where numba takes `x`, else its in-place form, else `op` itself
        (also for ops without fast forms, and inside `readable_only()`).
    """
    forms = _forms().get(op) if _enabled else None
    if forms is None:
        return op
    in_place_form, kernel_form, compiled_form = forms
    if kernel_form is not None and x.device == "cuda" and cuda_kernels.takes(x.dtype, x.ndim, axis):
        return kernel_form
    if compiled_form is not None and axis in (-1, x.ndim - 1) and _compiled().takes(x):
        return compiled_form
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
def _compiled():
    from . import compiled

    return compiled


@functools.lru_cache(maxsize=None)
def _forms():
    """{readable Function: (in-place form, kernel form, compiled form), each None where there is none}.

    Imported on first use, not at the top: the fast forms subclass the
    readable Functions, whose modules import this one to call `variant`.
    """
    from ..activation import GELU, ReLU
    from ..dropout import Dropout
    from ..loss import CrossEntropy
    from ..normalization import LayerNorm
    from ..softmax import LogSoftmax, Softmax
    from .compiled import CrossEntropyCompiled, DropoutCompiled, LayerNormCompiled, ReLUCompiled, SoftmaxCompiled
    from .in_place import CrossEntropyInPlace, LayerNormInPlace, LogSoftmaxInPlace, SoftmaxInPlace
    from .kernels import CrossEntropyKernel, GELUKernel, LayerNormKernel, LogSoftmaxKernel, SoftmaxKernel

    return {
        Softmax: (SoftmaxInPlace, SoftmaxKernel, SoftmaxCompiled),
        LogSoftmax: (LogSoftmaxInPlace, LogSoftmaxKernel, None),
        LayerNorm: (LayerNormInPlace, LayerNormKernel, LayerNormCompiled),
        CrossEntropy: (CrossEntropyInPlace, CrossEntropyKernel, CrossEntropyCompiled),
        GELU: (None, GELUKernel, None),
        Dropout: (None, None, DropoutCompiled),
        ReLU: (None, None, ReLUCompiled),
    }
