"""Which Function runs when an op is called: the one place that chooses.

Every op function (`ops.softmax`, `ops.matmul`, ...) asks `form(Op, x)` for
the Function to apply:

1. inside `stand_in(Op, Replacement)`, the replacement: the exercises
   (`tinygrad_tf.exercises`) put the learner's own code there, in the whole
   model or in one module of it;
2. after `ops.fast.enable()`, the op's fast form, where one takes `x`
   (in place, compiled, a CUDA kernel, a folded GEMM: see `ops.fast`);
3. otherwise the readable Function, written in the op's own file as its math.
"""
import threading

from autograd import scope

from . import fast


class _State(threading.local):
    stand_ins = {}  # readable Function -> [(replacement, module path or None), ...], innermost last


_state = _State()


def form(op, x, axis=-1):
    """The Function that runs the op `op` on the Tensor `x` (reduced over `axis`, for the ops that reduce)."""
    if _state.stand_ins:
        replacement = _stand_in_for(op)
        if replacement is not None:
            return replacement
    return fast.variant(op, x, axis)


class stand_in:
    """Within this block, run `replacement` wherever the readable Function `op` would run.

    Args:
        op: a readable Function (`ops.softmax.Softmax`, ...).
        replacement: a Function to run instead, usually a subclass of `op` with another backward.
        module: run it only inside this module of a model and its children (a dotted path such
            as "encoder.layers.0.self_attn"); None: everywhere.

    Example:
        >>> with stand_in(Softmax, MySoftmax, module="encoder.layers.0.self_attn"):
        ...     loss = model(src, tgt_in).sum()
    """

    def __init__(self, op, replacement, module=None):
        self.op, self.entry = op, (replacement, module)

    def __enter__(self):
        stand_ins = dict(_state.stand_ins)
        stand_ins[self.op] = stand_ins.get(self.op, []) + [self.entry]
        self._before, _state.stand_ins = _state.stand_ins, stand_ins
        return self

    def __exit__(self, *exc_info):
        _state.stand_ins = self._before


def _stand_in_for(op):
    path = scope.current_module()
    for replacement, module in reversed(_state.stand_ins.get(op, ())):
        if module is None or (path is not None and (path == module or path.startswith(module + "."))):
            return replacement
    return None
