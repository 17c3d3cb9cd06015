"""The dotted module path that new graph nodes are tagged with.

`tinygrad_tf.nn.Module` enters `module_scope(name)` around its forward, so a
node made inside `encoder.layers.0.self_attn` remembers that path. Graph
pictures group nodes by it; the backward stepper prints it.
"""
import contextlib
import threading

_state = threading.local()


def current_module():
    """The dotted path of the module running now, or None outside any module."""
    return getattr(_state, "path", None)


@contextlib.contextmanager
def module_scope(name):
    """Append `name` to the current module path for the duration of the block."""
    outer = current_module()
    _state.path = name if outer is None else f"{outer}.{name}"
    try:
        yield _state.path
    finally:
        _state.path = outer
