"""A backward that is itself recorded: `backward(create_graph=True)`, for second derivatives.

A plain backward passes backend arrays between the steps: each line of an
op's backward is one NumPy/CuPy call and nothing is recorded. With
`create_graph=True` the gradients are Tensors instead, grad mode is on inside
each step, and the very same backward code is recorded op by op (a backward
written with operators and `ctx.F` runs on either), so the gradients can be
differentiated again. The saved arrays then come back as Tensors
(`saved_as_tensors`): an input's array as that input, the output's as the
output, anything else as a constant.

An op that asks for Tensors (`tensor_backward = True`) always runs this way,
with grad mode off unless create_graph.
"""
import contextlib

from . import anomaly, backend, grad_mode, lifting


def as_tensor(value, tensor_type):
    """`value` as a Tensor: itself when it is one, else wrapped without a copy."""
    return value if isinstance(value, tensor_type) else tensor_type._wrap(value)


def grad_mode_for(create_graph):
    """Inside a backward step: grad mode on when it is recorded; otherwise as it is (array work records nothing)."""
    return grad_mode.enable_grad() if create_graph else contextlib.nullcontext()


def initial_grad(root, grad, create_graph, tensor_type):
    """d(root)/d(root): ones (for a single value) or `grad`; a Tensor under create_graph, else an array."""
    if not root.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad; create the inputs with "
                           "requires_grad=True (and not under no_grad())")
    if grad is None:
        if root.size != 1:
            raise RuntimeError(f"backward: grad can be omitted only for a single value, but the output has shape "
                               f"{root.shape}; reduce it first (e.g. .sum()) or pass grad= of that shape")
        grad = tensor_type._wrap(backend.xp_for(root.device).ones_like(root.data))
    elif not isinstance(grad, tensor_type):
        grad = tensor_type(grad, dtype=root.dtype, device=root.device)
    if grad.shape != root.shape:
        raise ValueError(f"backward: grad has shape {grad.shape} but the output has shape {root.shape}")
    grad = grad if grad.dtype == root.dtype else grad.astype(root.dtype)
    return grad if create_graph else grad.data


def call_backward(ctx, output, g, create_graph):
    """Run the op's backward on Tensors: recorded under create_graph, else with grad mode off (tensor_backward)."""
    if create_graph and ctx.fn.once_differentiable:
        raise RuntimeError(f"create_graph=True: op '{ctx.name}' has a backward that is not itself differentiable; "
                           "use its composed form (e.g. fused=False) for second derivatives")
    ctx.recording, ctx._output = True, output  # saved arrays come back as Tensors
    try:
        with grad_mode.enable_grad() if create_graph else grad_mode.no_grad():
            g = as_tensor(g, type(output))
            return anomaly.call_backward(ctx, g) if anomaly.is_anomaly_enabled() else ctx.fn.backward(ctx, g)
    finally:
        ctx.recording, ctx._output = False, None


def explain_array_backward(error, ctx, g):
    """An AttributeError from a backward that ran on arrays, saying how to write it (or to ask for Tensors)."""
    return AttributeError(
        f"{error} (in the backward of op '{ctx.name}', which ran on {type(g).__module__} arrays: write it with "
        "operators and ctx.F functions, or set tensor_backward = True on the Function to get Tensors)"
    ).with_traceback(error.__traceback__)


def saved_as_tensors(ctx, tensor_type):
    """What forward saved, each array as the Tensor it belongs to: an input, the output, or a new constant."""
    return tuple(_saved_as_tensor(ctx, value, tensor_type) for value in ctx._saved)


def _saved_as_tensor(ctx, value, tensor_type):
    for inp, seen in zip(ctx.inputs, ctx._raw):
        if seen is value and isinstance(inp, tensor_type):
            return inp
    if ctx._output is not None and ctx._output._data is value:
        return ctx._output
    return tensor_type._wrap(ctx.xp.asarray(value)) if lifting.is_array(value) else value
