"""The fast forms of the ops, off by default: `ops.fast.enable()` turns them on.

Each op is written once as its math, in its own file (`ops/softmax.py`, ...):
that Function is what runs by default, what a learner reads and steps
through, and what the tests hold everything else to. The same math also
exists in forms that make fewer passes over memory or fewer, larger calls:

- `in_place`: softmax, log-softmax, layer norm and the loss, on any backend,
  one new array per op and the other steps in place (`rows`: row sums as
  matrix-vector products);
- `compiled`: the same and dropout and ReLU, as compiled loops over NumPy
  arrays that do each row in cache (`autograd.cpu_kernels`), where numba is installed;
- `kernels`: on CuPy arrays reduced over the last axis, one CUDA kernel each
  way (`autograd.cuda_kernels`);
- `folded`: a stack of matrices times one matrix as one GEMM;
- `blas_linear`: the bias added inside the GEMM of `linear`;
- `scatter`: an embedding's gradient added by whole rows.

They subclass the readable Functions (same name in the graph, same saved
values), so a recorded backward (`create_graph=True`) runs the readable
backward. The trainer, the benchmarks, `translate` and `evaluate` turn them
on; `variant` picks one per call, and `ops.dispatch.form` is what the ops ask.

    ops.fast.enable()            # from now on
    with ops.fast.enable(): ...  # within the block, then as before
    with ops.fast.disable(): ... # the readable forms within the block
"""
import functools

from autograd import cuda_kernels

_enabled = False


class _Setting:
    """Sets whether the fast forms run; as a `with` block, puts back the setting before it on exit."""

    def __init__(self, on):
        global _enabled
        self._before, _enabled = _enabled, on

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        global _enabled
        _enabled = self._before


def enable():
    """Run the fast forms from now on (or within a `with` block)."""
    return _Setting(True)


def disable():
    """Run the readable forms from now on (or within a `with` block)."""
    return _Setting(False)


readable_only = disable  # `with ops.fast.readable_only():` says what the block is for: the math as written


def is_enabled():
    """Whether the fast forms run now."""
    return _enabled


def variant(op, x, axis=-1):
    """The Function that runs `op` on the Tensor `x` (reduced over `axis`).

    Returns:
        `op` itself while the fast forms are off or where `op` has none; else
        its CUDA-kernel form where the kernels take `x`, its compiled form
        where numba takes `x`, else its form for any array.
    """
    forms = _forms().get(op) if _enabled else None
    if forms is None:
        return op
    any_array_form, kernel_form, compiled_form = forms
    if kernel_form is not None and x.device == "cuda" and cuda_kernels.takes(x.dtype, x.ndim, axis):
        return kernel_form
    if compiled_form is not None and axis in (-1, x.ndim - 1) and _compiled().takes(x):
        return compiled_form
    return any_array_form or op


@functools.lru_cache(maxsize=None)
def _compiled():
    from . import compiled

    return compiled


@functools.lru_cache(maxsize=None)
def _forms():
    """{readable Function: (form for any array, CUDA-kernel form, compiled form), each None where there is none}.

    Built on first use: the fast forms subclass the readable Functions, whose
    modules import `ops.dispatch`, which imports this one.
    """
    from ..activation import GELU, ReLU
    from ..dropout import Dropout
    from ..embedding import Embedding
    from ..linear import Linear
    from ..loss import CrossEntropy
    from ..matmul import MatMul
    from ..normalization import LayerNorm
    from ..softmax import LogSoftmax, Softmax
    from .blas_linear import LinearBLAS
    from .compiled import CrossEntropyCompiled, DropoutCompiled, LayerNormCompiled, ReLUCompiled, SoftmaxCompiled
    from .folded import MatMulFolded
    from .in_place import CrossEntropyInPlace, LayerNormInPlace, LogSoftmaxInPlace, SoftmaxInPlace
    from .kernels import CrossEntropyKernel, GELUKernel, LayerNormKernel, LogSoftmaxKernel, SoftmaxKernel
    from .scatter import EmbeddingRows

    return {
        Softmax: (SoftmaxInPlace, SoftmaxKernel, SoftmaxCompiled),
        LogSoftmax: (LogSoftmaxInPlace, LogSoftmaxKernel, None),
        LayerNorm: (LayerNormInPlace, LayerNormKernel, LayerNormCompiled),
        CrossEntropy: (CrossEntropyInPlace, CrossEntropyKernel, CrossEntropyCompiled),
        GELU: (None, GELUKernel, None),
        Dropout: (None, None, DropoutCompiled),
        ReLU: (None, None, ReLUCompiled),
        MatMul: (MatMulFolded, None, None),
        Linear: (LinearBLAS, None, None),
        Embedding: (EmbeddingRows, None, None),
    }
