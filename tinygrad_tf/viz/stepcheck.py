"""Check one backward step against central differences of its op alone (`check_step`)."""
import importlib
import math

import numpy as np

from autograd import Tensor, no_grad
from autograd.gradcheck import numeric_gradient

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
    xp = _array_module(step.grad_output.data)
    args = [
        Tensor(a.data.astype(np.float64, order="C", copy=True), dtype="float64", device=a.device)
        if isinstance(a, Tensor) and a.dtype.kind == "f" else (a.detach() if isinstance(a, Tensor) else a)
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


def _array_module(array):
    """NumPy for a NumPy array, else the array's own library (CuPy for a CuPy array)."""
    return np if isinstance(array, np.ndarray) else importlib.import_module(type(array).__module__.split(".")[0])
