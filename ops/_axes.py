"""Axis bookkeeping shared by reductions and their backward passes."""


def normalize_axes(axis, ndim):
    """`axis` (None, an int or a tuple, negatives allowed) as a sorted tuple of non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def keepdims_shape(shape, axes):
    """`shape` with every reduced axis kept as size 1."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def expand_reduced(F, grad, in_shape, axes):
    """Broadcast the gradient of a reduction back over the axes it reduced (`F` is `ctx.F`)."""
    return F.broadcast_to(grad.reshape(keepdims_shape(in_shape, axes)), in_shape)
