"""The fast form of an embedding's backward: whole rows added at once into the table's gradient.

An embedding's gradient adds each position's gradient row into the row of
its token, with repeated tokens accumulating. NumPy's `add.at` does this one
element at a time through a general index; here a compiled loop adds each
row in turn (`autograd.cpu_kernels`: the same sums in the same order, so the
same bits), or, without numba, `add.at` runs over the flattened table with
1-D indices, several times faster than over rows.
"""
import numpy as np

from autograd import backend, cpu_kernels

from ..embedding import Embedding


class EmbeddingRows(Embedding):
    @staticmethod
    def backward(ctx, grad):
        if ctx.recording or ctx.xp is not np:
            return Embedding.backward(ctx, grad)
        grad_weight = scatter_add(np.zeros(ctx.in_shape, dtype=grad.dtype), ctx.index, grad)
        if ctx.padding_idx is not None:
            grad_weight[ctx.padding_idx] = 0  # the padding row never learns
        return grad_weight, None, None


def scatter_add(target, index, values):
    """target[index] += values for a NumPy `target`, as `autograd.backend.scatter_add`, by whole rows where it can."""
    if not target.flags.writeable or not _rows_of(target, index, values):
        return backend.scatter_add(np, target, index, values)
    width = target.size // target.shape[0]
    loops = cpu_kernels.load()
    if loops is not None and target.dtype in cpu_kernels.FLOATS and values.dtype == target.dtype:
        values = np.ascontiguousarray(values).reshape(index.size, width)
        loops.add_rows(target.reshape(target.shape[0], width), index.reshape(-1), values)
        return target
    flat = (index.reshape(-1, 1) * width + np.arange(width)).reshape(-1)  # every element of the rows, 1-D
    np.add.at(target.reshape(-1), flat, values.reshape(-1))
    return target


def _rows_of(target, index, values):
    """Whether `index` is an array of non-negative row numbers and `values` holds one full row per entry."""
    return (
        isinstance(index, np.ndarray) and index.dtype.kind in "iu" and target.ndim >= 1
        and target.flags.c_contiguous and target.shape[0] > 0
        and values.shape == index.shape + target.shape[1:] and index.size > 0
        and index.min() >= 0 and index.max() < target.shape[0]
    )
