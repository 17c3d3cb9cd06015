"""Counting in-place changes, so that backward never uses values that changed after forward saved them.

An op that saves a tensor for backward (Mul saves both inputs) computes its
gradient from those values. If they are changed in place afterwards (`x.data
= ...`, an optimizer step, `bump_version()`), the gradient would belong to
values the forward never saw. As in PyTorch, every tensor has a version, the
number of in-place changes to its memory, shared by every Tensor that views
the same array (`x.detach()`, a reshape of `x`). `Function.apply` notes the
versions of a node's inputs and output when the op saved something (`note`);
the backward step compares them (`check`) and raises, naming the op and the
tensor, when one has moved and the op really saved that memory.

Most tensors are never changed in place, so a counter is made only when
needed, and a class-wide count of all changes lets `check` return at once when
nothing anywhere changed since the node was recorded.
"""


class VersionCounter:
    """The number of in-place changes to one array, shared by every Tensor that views it."""

    __slots__ = ("value",)
    changes = 0  # in-place changes to any tensor: while unmoved since a forward, nothing it saved changed

    def __init__(self):
        self.value = 0


def counter_of(tensor):
    """The tensor's counter, made on first use (most tensors never need one)."""
    if tensor._version_counter is None:
        tensor._version_counter = VersionCounter()
    return tensor._version_counter


def version_of(tensor):
    """How many times the tensor's values were changed in place (PyTorch's `tensor._version`)."""
    counter = tensor._version_counter
    return 0 if counter is None else counter.value


def bump(tensor):
    """Record one in-place change of the tensor's values."""
    counter_of(tensor).value += 1
    VersionCounter.changes += 1


def replace_data(tensor, array):
    """`tensor.data = array`: new values count as an in-place change.

    The tensor no longer views what it viewed before, so it takes a counter of its own.
    """
    counter = VersionCounter()
    counter.value = version_of(tensor) + 1
    tensor._data, tensor._version_counter = array, counter
    VersionCounter.changes += 1


def on_forward(result, args, raw):
    """Let a result that views an input's memory (reshape, transpose, a slice) share that input's counter."""
    owner = result._data.base  # NumPy and CuPy point a view at the array that owns the memory
    if owner is None:
        return
    for a, array in zip(args, raw):
        if array is not a and (array is owner or array.base is owner):  # `array is not a`: a is a Tensor
            result._version_counter = counter_of(a)
            return


def note(ctx, args, result):
    """Remember the versions of a recorded node's inputs and output, when its op saved anything."""
    if not ctx._saved:
        return
    versions = [version_of(a) if array is not a else None for a, array in zip(args, ctx._raw)]
    ctx._versions = versions + [version_of(result)]
    ctx._changes_seen = VersionCounter.changes


def check(ctx, output):
    """Raise if a tensor this op saved for backward was changed in place after forward.

    Only a changed tensor whose memory the op actually saved counts: Linear's
    bias may change, its weight may not. The engine's own in-place work
    (summing gradients, ops reusing their own buffers) changes no tensor.
    """
    if ctx._versions is None or ctx._changes_seen == VersionCounter.changes:
        return
    tensors = ctx.inputs + (output,)
    for i, (t, seen) in enumerate(zip(tensors, ctx._versions)):
        if seen is None or version_of(t) == seen:
            continue
        array = ctx._raw[i] if i < len(ctx._raw) else t._data
        if any(hasattr(v, "shape") and ctx.xp.may_share_memory(v, array) for v in ctx._saved):
            which = "its output" if t is output else f"its input {i}"
            named = f" '{t.name}'" if t.name else ""
            where = f" (in {ctx.module})" if ctx.module else ""
            raise RuntimeError(
                f"backward of op '{ctx.name}'{where}: one of the variables needed for gradient computation "
                f"has been modified by an inplace operation: {which}{named}, a tensor of shape {t.shape} and "
                f"dtype {t.dtype}, is at version {version_of(t)}; expected version {seen}. It was changed after "
                "the forward pass saved it (a .data assignment, an optimizer step, bump_version()); "
                "call backward() before changing it, or run the forward pass again"
            )
