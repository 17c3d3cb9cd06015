"""Running the model twice, the reference and the learner's, and comparing them node by node.

The learner's piece is put in place (an op's backward, the attention, the
positional table, the mask) by a context manager; everything else is the
engine's own. Both runs walk backward one step at a time (`backward_steps`),
so their records line up step by step: the first step whose op sent a
gradient that differs from the reference run's is where the learner's code
went wrong, and every later difference follows from it.
"""
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

import ops
from autograd import backward_steps

from ..viz.description import role_of
from . import models
from .compare import differs
from .report import FirstWrong, node_label


@dataclass
class StepRecord:
    """One op's backward step: where it is, and the gradient it sent to each input (None where none)."""

    index: int  # the step's position in the whole walk (leaves included), as the explorer numbers them
    op: str
    role: str
    module: str
    sent: tuple

    @property
    def label(self):
        return node_label(self.op, self.role, self.module)


@dataclass
class Run:
    """What one forward and backward run of the model gave."""

    logits: np.ndarray
    loss: float
    steps: list
    parameters: dict  # name -> gradient


def record(model, batch, installed=None):
    """Run `model` on `batch` forward and backward, step by step, with the readable forms of every op.

    Args:
        installed: a context manager that puts the learner's piece in place and yields keyword arguments
            for `models.loss` (or None); None runs the reference.
    """
    model.zero_grad()
    with ops.fast.readable_only(), (installed or nullcontext()) as loss_arguments:
        logits, loss = models.loss(model, batch, **(loss_arguments or {}))
        steps = [StepRecord(i, step.ctx.name, role_of(step.ctx), step.ctx.module,
                            tuple(None if g is None else g.numpy().copy() for g in step.grad_inputs))
                 for i, step in enumerate(backward_steps(loss)) if step.ctx is not None]
    parameters = {name: p.grad.numpy().copy() for name, p in model.named_parameters() if p.grad is not None}
    return Run(logits.numpy().copy(), float(loss.item()), steps, parameters)


def wrong_parameters(reference, run):
    """Names of the parameters whose gradients differ (or that got none) in `run`."""
    return [name for name, grad in reference.parameters.items()
            if name not in run.parameters or differs(grad, run.parameters[name])]


def first_wrong(reference, run, sent_names=None):
    """The FirstWrong of `run` against `reference` (two runs of one graph), or None where every step agrees.

    Args:
        sent_names: {op name: names of the gradients its backward sends, by input} for the report.
    """
    sent_names = sent_names or {}
    wrong_steps = [(ref, got, _wrong_inputs(ref, got)) for ref, got in zip(reference.steps, run.steps)]
    wrong_steps = [(ref, got, wrong) for ref, got, wrong in wrong_steps if wrong]
    if not wrong_steps:
        return None
    ref, got, wrong = wrong_steps[0]
    names = sent_names.get(ref.op, ())
    sent = [(names[i] if i < len(names) else f"input {i}", difference) for i, difference in wrong]
    later_steps = sum(1 for s in run.steps if s.index > got.index)
    return FirstWrong(ref.op, ref.role, ref.module, got.index, sent, [g.label for _, g, _ in wrong_steps[1:]],
                      later_steps, wrong_parameters(reference, run))


def _wrong_inputs(reference_step, step):
    """[(input index, Difference)] where `step` sent another gradient than `reference_step`."""
    found = []
    for i, (expected, got) in enumerate(zip(reference_step.sent, step.sent)):
        if expected is None or got is None:
            continue
        difference = differs(expected, got)
        if difference is not None:
            found.append((i, difference))
    return found


def output_differences(reference, run):
    """Lines saying how `run`'s logits, loss and parameter gradients differ from `reference`'s ([] where they agree)."""
    lines = []
    logits = differs(reference.logits, run.logits)
    if logits is not None:
        lines.append(f"logits: {logits.text()}")
    if differs(reference.loss, run.loss) is not None:
        lines.append(f"loss: should be {reference.loss:.6g}, was {run.loss:.6g}")
    wrong = wrong_parameters(reference, run)
    if wrong:
        shown = ", ".join(wrong[:3]) + (", ..." if len(wrong) > 3 else "")
        lines.append(f"{len(wrong)} of {len(reference.parameters)} parameter gradients differ ({shown})")
    return lines
