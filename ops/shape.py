"""Shape and indexing ops: reshape, transpose, concatenate, getitem, pad, ..."""
import numpy as np

from autograd import Function, Tensor, backend

from ._axes import normalize_axes


class BroadcastTo(Function):
    rule = "dx = dy summed back over the broadcast axes"
    broadcasting = True
    name = "broadcast_to"

    @staticmethod
    def forward(ctx, x, shape):
        return ctx.xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums it back to the input's shape, as for every op


def broadcast_to(x, shape):
    """Broadcast `x` to `shape` (NumPy rules); backward sums back to x's shape."""
    shape = tuple(shape)
    return x if tuple(x.shape) == shape else BroadcastTo.apply(x, shape)


class Reshape(Function):
    rule = "dx = reshape(dy, x.shape)"

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.in_shape), None


class Transpose(Function):
    rule = "dx = transpose(dy, inverse axes)"

    @staticmethod
    def forward(ctx, a, axes):
        ctx.axes = axes
        return a.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        inverse = sorted(range(len(ctx.axes)), key=ctx.axes.__getitem__)  # argsort, without an array per call
        return grad.transpose(inverse), None


class Concatenate(Function):
    rule = "dx_i = the slice of dy that x_i filled"

    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        ctx.sizes = [a.shape[axis] for a in arrays]
        return ctx.xp.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        bounds = np.cumsum(ctx.sizes)[:-1].tolist()
        return (None,) + tuple(ctx.F.split(grad, bounds, axis=ctx.axis))


class GetItem(Function):
    """x[index]; backward adds the gradient back at the indexed places."""
    rule = "dx = zeros, with dy added at the indices"

    name = "getitem"

    @staticmethod
    def forward(ctx, a, index):
        ctx.in_shape, ctx.index = a.shape, index
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording:  # scattering back is then an op itself (its backward gathers again)
            return IndexAdd.apply(grad, ctx.index, ctx.in_shape), None
        return scatter_into_zeros(ctx.xp, grad, ctx.index, ctx.in_shape), None


class IndexAdd(Function):
    """zeros(shape) with `values` added at `index` (repeated indices accumulate)."""
    rule = "dx = dy;  dvalues = dy[indices]"

    name = "index_add"

    @staticmethod
    def forward(ctx, values, index, shape):
        ctx.index = index
        return scatter_into_zeros(ctx.xp, values, index, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index], None, None


class Pad(Function):
    rule = "dx = dy without the padding"

    @staticmethod
    def forward(ctx, a, widths, value):
        ctx.inside = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, a.shape))
        return ctx.xp.pad(a, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.inside], None, None


def scatter_into_zeros(xp, values, index, shape):
    """An array of zeros of `shape` with `values` added at `index` (repeated places accumulate)."""
    out = xp.zeros(shape, dtype=values.dtype)
    if _is_basic(index):
        out[index] = values  # a basic index never repeats a place
    else:
        backend.scatter_add(xp, out, index, values)
    return out


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice, np.integer)) for p in parts)


def _raw_index(index, device):
    """Replace Tensors (and lists) inside an index by backend arrays on `device`."""
    def convert(p):
        if isinstance(p, Tensor):
            return p.to(device).data
        if isinstance(p, (list, np.ndarray)):
            return backend.move(np.asarray(p), device)
        return p

    return tuple(convert(p) for p in index) if isinstance(index, tuple) else convert(index)


def _shape_args(shape):
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def reshape(a, *shape):
    """The same values in a new shape (one dimension may be -1)."""
    return Reshape.apply(a, _shape_args(shape))


def transpose(a, *axes):
    """Permute axes (reverse them when none are given), like `numpy.transpose`."""
    axes = _shape_args(axes) or tuple(reversed(range(a.ndim)))
    if len(axes) != a.ndim or sorted(int(x) % max(a.ndim, 1) for x in axes) != list(range(a.ndim)):
        raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of a {a.ndim}-d tensor's axes (shape {a.shape})")
    return Transpose.apply(a, tuple(int(x) % a.ndim for x in axes))


def swapaxes(a, axis1, axis2):
    """Exchange two axes (a 0-d tensor has the one axis 0 = -1, as in PyTorch: it comes back as it is)."""
    for axis in (axis1, axis2):
        _check_int(axis, a.shape, "swapaxes")
        normalize_axes(axis, a.shape, "swapaxes")  # raises for an axis out of range
    if not a.ndim:
        return reshape(a, ())
    axes = list(range(a.ndim))
    axis1, axis2 = axis1 % a.ndim, axis2 % a.ndim
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return Transpose.apply(a, tuple(axes))


def squeeze(a, axis=None):
    """Drop size-1 axes (all of them, or the ones named)."""
    if axis is None:
        return reshape(a, tuple(n for n in a.shape if n != 1))
    axes = normalize_axes(axis, a.shape, "squeeze")
    for x in axes:
        if a.shape[x] != 1:
            raise ValueError(f"squeeze: axis {x} has size {a.shape[x]}, not 1 (shape {a.shape})")
    return reshape(a, tuple(n for i, n in enumerate(a.shape) if i not in axes))


def unsqueeze(a, axis):
    """Insert a size-1 axis at `axis` (from -(ndim + 1) to ndim, as in PyTorch)."""
    _check_int(axis, a.shape, "unsqueeze")
    if not -(a.ndim + 1) <= axis <= a.ndim:
        raise np.exceptions.AxisError(f"unsqueeze: axis {axis} is out of range for a tensor of shape {a.shape} "
                                      f"(valid axes: {-(a.ndim + 1)} to {a.ndim})")
    shape = list(a.shape)
    shape.insert(axis % (a.ndim + 1), 1)
    return reshape(a, tuple(shape))


def _check_int(axis, shape, op):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r} (tensor of shape {tuple(shape)})")


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: need at least one tensor")
    return Concatenate.apply(axis, *tensors)


def stack(tensors, axis=0):
    """Join tensors along a new axis."""
    tensors = list(tensors)
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([unsqueeze(t, axis) for t in tensors], axis=axis)


def split(a, indices_or_sections, axis=0):
    """Split into pieces along `axis`, like `numpy.split` (each piece a slice of `a`)."""
    n = a.shape[axis]
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of size {n} does not divide into {indices_or_sections} equal parts")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (slice(None),) * (axis % a.ndim)
    return [getitem(a, lead + (slice(lo, hi),)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def getitem(a, index):
    """a[index]: ints, slices, steps, None, Ellipsis, integer or boolean arrays."""
    return GetItem.apply(a, _raw_index(index, a.device))


def pad(a, pad_width, value=0.0):
    """Pad with a constant, like `numpy.pad(..., mode="constant")`."""
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (a.ndim, 2))
    return Pad.apply(a, tuple(map(tuple, widths.tolist())), value)
