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
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

import autograd
from autograd import Tensor, backend, no_grad
from autograd.gradcheck import numeric_gradient

from .description import role_of

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
    a = tensor.numpy() if isinstance(tensor, Tensor) else backend.to_numpy(tensor)
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

    def _repr_html_(self):
        from .display import step_html  # Jupyter's view

        return step_html(self)

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
    for index, step in enumerate(autograd.backward_steps(loss, grad, retain_graph=retain_graph)):
        yield _record(index, step)


def check_step(step, eps=1e-6, max_elements=None, seed=0):
    """Relative error of one step's `grad_inputs` against central differences of its op alone.

    Method: the step's op (its `Function`) is run again, without recording, on
    float64 copies of its inputs (other arguments as they were). Its output is
    projected on the step's upstream gradient g, giving one number
    f(x) = sum(g * op(x)) over the finite outputs. The exact gradient of f with
    respect to an input is what backward should have sent that input (the
    vector-Jacobian product, unbroadcasting included), so it is compared with
    the central difference (f(x + eps e_j) - f(x - eps e_j)) / (2 eps) for
    every element j. The result is ||analytic - numeric|| / max(||analytic||,
    ||numeric||) over all inputs that received a gradient (0.0 when both are 0).

    In float64 a correct backward gives errors around 1e-8 or less; a float32
    graph shows its own rounding (around 1e-6).

    Args:
        step: a `BackwardStep` of an op node.
        eps: the perturbation.
        max_elements: compare at most this many elements of each input (a fixed
            random sample), to bound the cost on large inputs; None: all of them.
        seed: seed of that sample.

    Returns:
        The relative error, or None when there is nothing to check: a leaf, an
        op whose inputs got no gradient, or an op that draws random numbers
        (dropout), which would not repeat its forward.
    """
    ctx = step.ctx
    if ctx is None:
        return None
    checked = [i for i, g in enumerate(step.grad_inputs) if g is not None]
    if not checked or any(isinstance(a, np.random.Generator) or type(a).__name__ == "Generator" for a in ctx.inputs):
        return None
    xp = backend.xp_for(step.grad_output.device)
    args = [
        Tensor._wrap(xp.array(a.data, dtype=np.float64, order="C", copy=True)) if isinstance(a, Tensor) and a.dtype.kind == "f"
        else (a.detach() if isinstance(a, Tensor) else a)
        for a in ctx.inputs
    ]
    g = step.grad_output.data.astype(np.float64)

    def f():
        with no_grad():
            out = ctx.fn.apply(*args).data.astype(np.float64)
        finite = xp.isfinite(out)  # constant -inf entries (masked scores) do not move
        return float((xp.where(finite, out, 0.0) * xp.where(finite, g, 0.0)).sum())

    rng = np.random.default_rng(seed)
    diff_sq = analytic_sq = numeric_sq = 0.0
    for i in checked:
        x = args[i]
        analytic = step.grad_inputs[i].numpy().astype(np.float64).reshape(-1)
        indices = np.arange(x.size)
        if max_elements is not None and x.size > max_elements:
            indices = np.sort(rng.choice(x.size, size=max_elements, replace=False))
        finite = np.isfinite(np.asarray(x.numpy()).reshape(-1)[indices])  # a constant -inf/inf entry: nothing flows
        numeric = np.zeros(len(indices))
        numeric[finite] = numeric_gradient(f, x.data, eps, indices[finite])  # perturbs the copy in place
        a = analytic[indices]
        diff_sq += float(np.sum((a - numeric) ** 2))
        analytic_sq += float(np.sum(a ** 2))
        numeric_sq += float(np.sum(numeric ** 2))
    scale = math.sqrt(max(analytic_sq, numeric_sq))
    return 0.0 if scale == 0.0 else math.sqrt(diff_sq) / scale


__all__ = ["BackwardStep", "LEAF_OP", "Summary", "backward_steps", "check_step", "summary"]
