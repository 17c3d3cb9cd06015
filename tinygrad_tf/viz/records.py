"""The records of the backward pass, one per node, in the order the engine runs them.

This is the bottom of `viz`: it reads the engine's records (`autograd.backward_steps`)
and knows nothing of pictures. `viz.trace` is its public face (with `check_step`);
the description (`viz.description`) and every view read these records.
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from autograd import Tensor
from autograd import backward_steps as engine_backward_steps

LEAF_OP = "accumulate_grad"


@dataclass(frozen=True)
class Summary:
    """Norm (L2), min, max and mean of a tensor's values."""

    norm: float
    min: float
    max: float
    mean: float

    def __str__(self):
        return f"norm {self.norm:.4g}, min {self.min:.4g}, max {self.max:.4g}, mean {self.mean:.4g}"


def summary(tensor):
    """The `Summary` of a Tensor or array (None for None; NaN everywhere for an empty one)."""
    if tensor is None:
        return None
    if isinstance(tensor, Tensor):
        a = tensor.numpy()
    else:  # a backend array: a CuPy array is copied to the host with .get()
        a = tensor.get() if hasattr(tensor, "get") else tensor
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        nan = float("nan")
        return Summary(nan, nan, nan, nan)
    return Summary(float(np.linalg.norm(a.ravel())), float(a.min()), float(a.max()), float(a.mean()))


@dataclass
class BackwardStep:
    """What one backward step did, in the order backward ran it.

    Attributes:
        index: 0 for the first step (the output), then 1, 2, ...
        op: the op whose backward ran ("matmul", "softmax", ...), or
            "accumulate_grad" for a leaf receiving its gradient into `.grad`.
        module: dotted path of the module that made the node (`self_attn.q_proj`);
            for a named leaf (a parameter) the module that owns it; None otherwise.
        name: the leaf's name (a parameter's dotted path such as
            `self_attn.q_proj.weight`), None for unnamed leaves and for op nodes.
        output_shape: shape of the tensor this step differentiates through.
        grad_output: the complete upstream gradient of that tensor (a Tensor).
        grad_inputs: the gradient sent to each input of the op, after unbroadcasting
            (None where an input gets none); () for a leaf.
        input_shapes: the shape of each input (None for non-Tensor arguments).
        grad_output_summary, grad_input_summaries: `Summary` of each of those.
        paths: how many uses of the tensor its gradient was summed from.
        accumulated: True when that is more than one (the tensor fed several ops,
            or one op twice).
        tensor: the tensor itself; ctx: its node (None for a leaf).
        role: the part the node plays in the model ("scores QKᵀ", "Q"), or None.
        rule: the op's backward in one line ("dA = dC·Bᵀ, dB = Aᵀ·dC"), or None.
    """

    index: int
    op: str
    module: Optional[str]
    name: Optional[str]
    output_shape: tuple
    grad_output: Tensor
    grad_inputs: tuple
    input_shapes: tuple
    grad_output_summary: Summary
    grad_input_summaries: tuple
    paths: int
    accumulated: bool
    tensor: Tensor = field(repr=False)
    ctx: object = field(repr=False)
    role: Optional[str] = None
    rule: Optional[str] = None

    @property
    def is_leaf(self):
        return self.ctx is None

    @property
    def label(self):
        """The op with its role ('matmul [scores QKᵀ]'), or `accumulate_grad(name)` for a named leaf."""
        if self.is_leaf and self.name:
            return f"{self.op}({self.name})"
        return f"{self.op} [{self.role}]" if self.role else self.op

    def __str__(self):
        where = f" in {self.module}" if self.module else ""
        sent = ", ".join("-" if s is None else f"{s.norm:.3g}" for s in self.grad_input_summaries)
        extra = f", summed from {self.paths} paths" if self.accumulated else ""
        arrow = f" -> inputs |grad| [{sent}]" if not self.is_leaf else ""
        return (f"#{self.index} {self.label}{where}: {self.output_shape}, "
                f"|grad| {self.grad_output_summary.norm:.4g}{arrow}{extra}")


def _record(index, step):
    tensor, ctx = step.tensor, step.ctx
    if ctx is None:
        name = tensor.name
        module = name.rsplit(".", 1)[0] if name and "." in name else None
        op, inputs = LEAF_OP, ()
    else:
        name, module, op, inputs = None, ctx.module, ctx.name, ctx.inputs
    role = None if ctx is None else role_of(ctx)
    rule = "grad += upstream gradient" if ctx is None else ctx.fn.rule
    return BackwardStep(
        index=index,
        op=op,
        module=module,
        name=name,
        output_shape=tensor.shape,
        grad_output=step.grad_output,
        grad_inputs=tuple(step.grad_inputs),
        input_shapes=tuple(x.shape if isinstance(x, Tensor) else None for x in inputs),
        grad_output_summary=summary(step.grad_output),
        grad_input_summaries=tuple(summary(g) for g in step.grad_inputs),
        paths=step.paths,
        accumulated=step.paths > 1,
        tensor=tensor,
        ctx=ctx,
        role=role,
        rule=rule,
    )


def backward_steps(loss, grad=None, retain_graph=False):
    """Run backward from `loss` one node at a time, yielding a `BackwardStep` for each.

    Args:
        loss: the tensor to differentiate (a single value unless `grad` is given).
        grad: gradient of some final value with respect to `loss` (default 1).
        retain_graph: keep the saved tensors, so backward (or `check_step` on a
            step already taken) can run again.

    The records come in the order the engine runs them: each node after every
    node that used it (reverse topological order). Each step's work is done
    before its record is yielded, so the grads of the leaves reached so far
    are already in `.grad`.
    """
    for index, step in enumerate(engine_backward_steps(loss, grad, retain_graph=retain_graph)):
        yield _record(index, step)


def role_of(ctx):
    """The role of a recorded op: given where the model called it, else the op's own."""
    return getattr(ctx, "role", None) or getattr(ctx.fn, "role", None)
