"""Axis bookkeeping shared by reductions and their backward passes."""
import numpy as np


def normalize_axes(axis, shape, op):
    """`axis` (None, an int or a tuple, negatives allowed) as a sorted tuple of non-negative ints.

    Every op that takes an `axis` checks it here, so a bad one always reads the same way.

    Args:
        axis: None (every axis), an int, or a tuple/list of ints.
        shape: the shape of the tensor being reduced.
        op: the op's name, for the error message.

    Raises:
        numpy.exceptions.AxisError (a ValueError and an IndexError, as in NumPy):
            naming the op, the axis and the shape, when an axis is out of range.
        TypeError: when an axis is not an integer.
    """
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r} (tensor of shape {tuple(shape)})")
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise np.exceptions.AxisError(
                f"{op}: axis {int(a)} is out of range for a tensor of shape {tuple(shape)} "
                f"(valid axes: {-max(ndim, 1)} to {max(ndim, 1) - 1})"
            )
        if ndim:  # a 0-d tensor accepts axis 0 or -1, as in PyTorch, and has nothing to reduce
            out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis!r} names an axis twice (tensor of shape {tuple(shape)})")
    return tuple(sorted(out))


def keepdims_shape(shape, axes):
    """`shape` with every reduced axis kept as size 1."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_reduced(F, grad, in_shape, axes):
    """Broadcast the gradient of a reduction back over the axes it reduced (`F` is `ctx.F`)."""
    return F.broadcast_to(grad.reshape(keepdims_shape(in_shape, axes)), in_shape)
