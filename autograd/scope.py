"""The dotted module path that new graph nodes are tagged with.

`tinygrad_tf.nn.Module` enters `module_scope(path)` around its forward with
its own dotted path in the model (`encoder.layers.0.self_attn`), so every node
made inside remembers where it came from. Graph pictures group nodes by it;
the backward stepper prints it.
"""
import threading


class _State(threading.local):
    path = None


_state = _State()


def current_module():
    """The dotted path of the module running now, or None outside any module."""
    return _state.path


class module_scope:
    """Tag the nodes made inside the `with` block with `path` (None: no module).

    A class rather than a generator-based context manager: every module call
    enters one, and this costs a third as much.
    """

    __slots__ = ("path", "_outer")

    def __init__(self, path):
        self.path = path
        self._outer = []  # a stack: the same scope may be entered again inside itself

    def __enter__(self):
        self._outer.append(_state.path)
        _state.path = self.path
        return self.path

    def __exit__(self, *exc_info):
        _state.path = self._outer.pop()


def mark(tensor, role):
    """Name the part `tensor`'s op plays in the model ("Q", "scores QKᵀ") and return `tensor`.

    Pictures of the graph and the backward stepper show the role beside the
    op's name. A leaf or an unrecorded tensor (no gradient wanted) is returned
    as it is: there is no node to name.
    """
    if tensor._ctx is not None:
        tensor._ctx.role = role
    return tensor
