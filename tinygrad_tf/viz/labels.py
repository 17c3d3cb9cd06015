"""The text on a graph picture's nodes and edges: shapes, op titles, values, gradient norms.

Every view of a recorded graph (the Graphviz picture, the step table, the
explorer) writes a tensor's shape or an op's arguments the same way; the
functions for that live here.
"""
import numpy as np

from autograd import Tensor

DEFAULT_VALUE_LIMIT = 16  # show_values=None: values of tensors with at most this many elements


def _is_tensor(x):
    return isinstance(x, Tensor)


def shape_text(shape):
    return "scalar" if tuple(shape) == () else str(tuple(shape))


def _escape(text):
    return text.replace("\\", "\\\\")


def _arg_text(value):
    """A short text for a non-tensor op argument (None where it is not worth showing)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    if isinstance(value, str):
        return repr(value)
    if value is Ellipsis:
        return "..."
    if isinstance(value, slice):
        parts = ["" if v is None else str(v) for v in (value.start, value.stop, value.step)]
        return ":".join(parts[:2] if value.step is None else parts)
    if isinstance(value, tuple):
        items = [_arg_text(v) if v is not None else "None" for v in value]
        if any(item is None for item in items):
            return None
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return None  # generators, arrays, objects: not shown


def op_title(ctx, limit=32):
    """The op's name with its non-tensor arguments: 'div(2.828)', 'masked_fill(-inf)'."""
    args = [_arg_text(a) for a in ctx.inputs if not _is_tensor(a) and a is not None]
    args = [a for a in args if a is not None]
    if not args:
        return ctx.name
    text = ", ".join(args)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{ctx.name}({text})"


def value_limit(show_values):
    """How many elements a tensor may have for its values to be shown."""
    if show_values is None:
        return DEFAULT_VALUE_LIMIT
    if show_values is True:
        return float("inf")
    if show_values is False:
        return 0
    if isinstance(show_values, int) and show_values >= 0:
        return show_values
    raise ValueError(f"show_values must be None, True, False or a number of elements >= 0, got {show_values!r}")


def values_text(tensor, max_lines=6):
    """The values, NumPy-printed and cut to a few short lines."""
    text = np.array2string(tensor.numpy(), precision=3, suppress_small=True, threshold=16,
                           edgeitems=2, max_line_width=40, separator=" ")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + ["..."]
    return lines


def norm(array):
    return float(np.sqrt(np.sum(np.square(np.asarray(array, dtype=np.float64)))))


def grad_text(array):
    return f"norm {norm(array):.4g}"


def tensor_lines(tensor, show_values):
    """shape and dtype (device when not the CPU), values when tiny, gradient summary."""
    lines = [shape_text(tensor.shape) + " " + str(tensor.dtype) + ("" if tensor.device == "cpu" else " " + tensor.device)]
    if tensor.size <= value_limit(show_values):
        lines += values_text(tensor)
    if tensor.grad is not None:
        lines.append("grad " + grad_text(tensor.grad.numpy()))
    return lines


def leaf_label(tensor, kind, show_values):
    first = tensor.name if tensor.name else kind
    return label([first] + tensor_lines(tensor, show_values))


def op_label(ctx, out, show_values, role=None):
    """The op's title, the role it plays in the model (when it has one), then its output's lines."""
    first = [op_title(ctx)] + ([f"role: {role}"] if role else [])
    return label(first + tensor_lines(out, show_values))


def label(lines):
    """Graphviz label text: lines joined with DOT's `\\n` escape."""
    return "\\n".join(_escape(line) for line in lines)


def broadcast_note(ctx, inp, out):
    """'broadcast (d,) -> (b, t, d)' when `inp` is broadcast to the op's output, else None.

    Ops that broadcast their inputs say so (`Function.broadcasting`). An input whose shape differs from the output's but broadcasts to it gets a
    gradient of the output's shape, which the engine sums back to the input's
    shape: that is what the note tells.
    """
    if not getattr(ctx.fn, "broadcasting", False) or tuple(inp.shape) == tuple(out.shape):
        return None
    try:
        if np.broadcast_shapes(tuple(inp.shape), tuple(out.shape)) != tuple(out.shape):
            return None
    except ValueError:
        return None
    return f"broadcast {shape_text(inp.shape)} -> {shape_text(out.shape)}"
