"""Walk the backward pass one node at a time, with readable records.

    from tinygrad_tf.viz import trace
    loss = model(x).sum()
    for step in trace.backward_steps(loss):
        print(step)                     # #3 softmax in self_attn: (1, 2, 4, 4) ...
        step.grad_output                # the upstream gradient (a Tensor)
        step.grad_inputs                # the gradient sent to each input (None where none)
        trace.check_step(step)          # relative error against central differences

This is a thin layer over `autograd.backward_steps` (autograd/core.py), which is the
backward algorithm itself: each record is made from the engine's `Step` after
the engine has done that step's work. So consuming every record leaves exactly
the `.grad` values that `loss.backward()` gives; stopping early leaves the
leaves reached so far with their gradient and the rest untouched.
"""
from .records import LEAF_OP, BackwardStep, Summary, backward_steps, summary
from .stepcheck import check_step

__all__ = ["BackwardStep", "LEAF_OP", "Summary", "backward_steps", "check_step", "summary"]
