"""What `autograd.graph` draws: the nodes of a recorded graph, their kinds and their labels.

This half needs no Graphviz: it walks the graph, sorts the tensors into
kinds, writes the label text, and (for `show_backward`) records the gradient
sent along every edge. `autograd.graph` lays the result out.

Kinds of tensor node:
    input      a leaf that requires grad and has no `.name` (data you differentiate by)
    parameter  a leaf that requires grad and has a `.name` (nn Parameters get their
               dotted path, `encoder.layers.0.self_attn.q_proj.weight`)
    constant   a leaf that needs no gradient (masks, token ids, the positional table)
    output     the tensor being drawn
Every recorded op is an op node; its output tensor is described in the op's label.
"""
import numpy as np

INPUT, PARAMETER, CONSTANT, OUTPUT = "input", "parameter", "constant", "output"

# Ops whose inputs broadcast to the output shape, so backward sums the gradient
# back to each input's shape (the engine's `sum_to`). `layer_norm` broadcasts
# its (d,) weight and bias over the leading axes.
BROADCASTING_OPS = frozenset({
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "where", "masked_fill",
    "clip", "layer_norm", "broadcast_to",
})

DEFAULT_VALUE_LIMIT = 16  # show_values=None: values of tensors with at most this many elements


def _is_tensor(x):
    from .tensor import Tensor

    return isinstance(x, Tensor)


class Walk:
    """Everything reachable from `root` through `ctx.inputs`, in forward order.

    Attributes:
        root: the tensor drawn.
        tensors: every reachable Tensor, each after its inputs (constants included).
        ops: the Context of every recorded op, each after the ops feeding it.
        output_of: id(ctx) -> the tensor that op made.
        consumers: id(tensor) -> [(ctx, input index), ...] that use it.
    """

    def __init__(self, root):
        self.root = root
        self.tensors, self.ops = [], []
        self.output_of, self.consumers = {}, {}
        seen = set()
        stack = [(root, False)]
        while stack:  # iterative post-order DFS: deep graphs must not hit the recursion limit
            tensor, inputs_done = stack.pop()
            if inputs_done:
                self.tensors.append(tensor)
                if tensor._ctx is not None:
                    self.ops.append(tensor._ctx)
                    self.output_of[id(tensor._ctx)] = tensor
                continue
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            stack.append((tensor, True))
            ctx = tensor._ctx
            if ctx is None:
                continue
            for i, inp in enumerate(ctx.inputs):
                if _is_tensor(inp):
                    self.consumers.setdefault(id(inp), []).append((ctx, i))
            for inp in reversed(ctx.inputs):  # reversed: the first input is visited (drawn) first
                if _is_tensor(inp) and id(inp) not in seen:
                    stack.append((inp, False))

    @property
    def leaves(self):
        return [t for t in self.tensors if t._ctx is None]

    def kind(self, tensor):
        if tensor is self.root:
            return OUTPUT
        if not tensor.requires_grad:
            return CONSTANT
        return PARAMETER if tensor.name else INPUT

    def module_of(self, tensor):
        """The module path a leaf is drawn in (None: outside every module).

        A parameter belongs to the module in its dotted name; a constant to the
        innermost module enclosing every op that uses it; inputs and the output
        to no module.
        """
        kind = self.kind(tensor)
        if kind == PARAMETER:
            return tensor.name.rpartition(".")[0] or None
        if kind != CONSTANT:
            return None
        paths = [ctx.module for ctx, _ in self.consumers.get(id(tensor), ())]
        return common_prefix(paths)


def common_prefix(paths):
    """The longest dotted path that every path starts with (None when they share none)."""
    if not paths or any(p is None for p in paths):
        return None
    parts = [p.split(".") for p in paths]
    shared = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        shared.append(level[0])
    return ".".join(shared) or None


def truncate(path, depth):
    """The first `depth` components of a dotted path (None for depth 0 or no path)."""
    if path is None or depth <= 0:
        return None
    return ".".join(path.split(".")[:depth])


def depth(path):
    return 0 if path is None else len(path.split("."))


# ---- label text -------------------------------------------------------------
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


def op_label(ctx, out, show_values):
    return label([op_title(ctx)] + tensor_lines(out, show_values))


def label(lines):
    """Graphviz label text: lines joined with DOT's `\\n` escape."""
    return "\\n".join(_escape(line) for line in lines)


def broadcast_note(ctx, inp, out):
    """'broadcast (d,) -> (b, t, d)' when `inp` is broadcast to the op's output, else None."""
    if ctx.name not in BROADCASTING_OPS or tuple(inp.shape) == tuple(out.shape):
        return None
    try:
        if np.broadcast_shapes(tuple(inp.shape), tuple(out.shape)) != tuple(out.shape):
            return None
    except ValueError:
        return None
    return f"broadcast {shape_text(inp.shape)} -> {shape_text(out.shape)}"


# ---- gradients for show_backward -----------------------------------------------
def sent_gradients(root, steps):
    """What backward steps sent: ({(id(ctx), input index): NumPy gradient}, `root`'s gradient).

    `steps` are records of `engine.backward_steps` or `trace.backward_steps`
    (anything with tensor, ctx, grad_output and grad_inputs); `root`'s gradient
    is None when no step reached it.
    """
    sent, seed = {}, None
    for step in steps:
        if step.tensor is root:
            seed = step.grad_output.numpy()
        if step.ctx is None:
            continue
        for i, g in enumerate(step.grad_inputs):
            if g is not None:
                sent[(id(step.ctx), i)] = g.numpy()
    return sent, seed


def backward_gradients(walk):
    """Run backward step by step and record the gradient sent along every edge.

    Returns what `sent_gradients` does for the whole pass. A tensor with more
    than one element is seeded with ones (the gradient of its sum). Every
    `.grad` the run touches is put back as it was, so drawing has no side
    effect on the tensors (hooks registered on them do run).
    """
    from . import backend
    from .engine import backward_steps
    from .tensor import Tensor

    root = walk.root
    if not root.requires_grad:
        raise ValueError("show_backward: the tensor does not require grad, so there is no backward pass to draw")
    seed = Tensor._wrap(backend.xp_for(root.device).ones_like(root.data))
    before = [(t, t.grad) for t in walk.tensors]
    try:
        return sent_gradients(root, backward_steps(root, seed, retain_graph=True))
    finally:
        for tensor, grad in before:
            tensor.grad = grad
