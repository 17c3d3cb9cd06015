"""`tensor.register_hook(fn)`: look at, or replace, a tensor's gradient the moment it is complete.

The backward step of a tensor with hooks calls each of them on its gradient
(as a Tensor) before the gradient goes on to the tensor's op or into `.grad`;
a hook that returns a Tensor replaces the gradient. A hook's own Tensor
operations are recorded only under create_graph.
"""
from . import grad_mode


def register(tensor, fn):
    """Add `fn` to the tensor's hooks; returns `fn`."""
    if not tensor.requires_grad:
        raise RuntimeError("register_hook: tensor does not require grad")
    tensor._hooks = (tensor._hooks or []) + [fn]
    return fn


def run(tensor, g, create_graph):
    """The gradient `g` (an array, or a Tensor under create_graph) after the tensor's hooks, in the same form."""
    tensor_type = type(tensor)
    g = g if isinstance(g, tensor_type) else tensor_type._wrap(g)
    with grad_mode.enable_grad() if create_graph else grad_mode.no_grad():
        for hook in tensor._hooks:
            replaced = hook(g)
            if replaced is not None:
                g = replaced if isinstance(replaced, tensor_type) else tensor_type._wrap(replaced)
    return g if create_graph else g.data
