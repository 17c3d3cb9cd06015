"""Checking a learner's Adam step: several steps beside `optim.Adam` (and `torch.optim.Adam` where
installed), then training the Transformer a few steps with it in place of `optim.Adam`."""
from dataclasses import dataclass

import numpy as np

from autograd import Tensor

from .. import optim
from . import model_run, models
from .checking import array_differences, optional_torch
from .compare import as_array, as_tuple

OUTPUTS = ("param", "m", "v")
MODEL_STEPS, MODEL_LR = 3, 0.01


@dataclass
class Case:
    """A parameter, the gradients of successive steps, and the optimizer's settings."""

    label: str
    param: np.ndarray
    grads: list
    lr: float = 1e-3
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8


def cases(rng):
    def case(label, shape, steps=5, scale=1.0, **settings):
        return Case(label, rng.normal(size=shape), [rng.normal(size=shape) * scale for _ in range(steps)], **settings)

    sparse = case("gradients of zero in places (4, 3)", (4, 3))
    for g in sparse.grads:
        g[rng.random(g.shape) < 0.5] = 0.0
    return {
        "small shapes": [case("(3, 4), 5 steps, PyTorch's defaults", (3, 4)),
                         case("(2, 3), 5 steps, the paper's betas (0.9, 0.98), eps 1e-9, lr 0.01", (2, 3), lr=0.01,
                              betas=(0.9, 0.98), eps=1e-9)],
        "odd shapes": [case("a single number (1,)", (1,)),
                       case("tiny gradients (about 1e-5), where eps matters", (2, 3), scale=1e-5),
                       case("30 steps (the bias correction fades)", (2, 2), steps=30, lr=0.01),
                       sparse],
    }


def reference_steps(case):
    """[(param, m, v) after each step] from optim.Adam."""
    p = Tensor(case.param, requires_grad=True, dtype="float64")
    adam = optim.Adam([p], lr=case.lr, betas=case.betas, eps=case.eps)
    states = []
    for g in case.grads:
        p.grad = Tensor(g, dtype="float64")
        adam.step()
        states.append((p.numpy().copy(), adam.state[0]["m"].copy(), adam.state[0]["v"].copy()))
    return states


def torch_steps(torch, case):
    """[param after each step] from torch.optim.Adam."""
    p = torch.tensor(case.param, dtype=torch.float64, requires_grad=True)
    adam = torch.optim.Adam([p], lr=case.lr, betas=case.betas, eps=case.eps)
    params = []
    for g in case.grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        adam.step()
        params.append(p.detach().numpy().copy())
    return params


def learner_steps(learner, case):
    """[(param, m, v) after each step] from the learner's adam_step, t counting from 1."""
    param, m, v = case.param.copy(), np.zeros_like(case.param), np.zeros_like(case.param)
    states = []
    for t, g in enumerate(case.grads, start=1):
        param, m, v = step(learner, param, g, m, v, t, case.lr, case.betas, case.eps)
        states.append((param, m, v))
    return states


def step(learner, param, grad, m, v, t, lr, betas, eps):
    """One call of the learner's adam_step on copies, its results checked."""
    values = as_tuple(learner(param.copy(), grad.copy(), m.copy(), v.copy(), t, lr, betas, eps), OUTPUTS, learner.name)
    return tuple(as_array(value, name, param.shape, learner.name) for value, name in zip(values, OUTPUTS))


def _first_step_differing(case, expected, got):
    """Lines about the first step whose (param change, m, v) differ, else []."""
    for t, (e, g) in enumerate(zip(expected, got), start=1):
        e, g = (e[0] - case.param,) + tuple(e[1:]), (g[0] - case.param,) + tuple(g[1:])
        lines = array_differences(("param - its start", "m", "v")[:len(e)], e, g)
        if lines:
            return [f"after step t = {t}: {lines[0]}"] + lines[1:]
    return []


def run(exercise, learner, checks):
    """Add the Adam checks to `checks` (returns None: there is no graph to blame a node of)."""
    groups = cases(np.random.default_rng(0))
    for title, group in groups.items():
        checks.run(f"{title}: {'; '.join(c.label for c in group)}", group,
                   lambda case: _first_step_differing(case, reference_steps(case), learner_steps(learner, case)))
    torch = optional_torch()
    if torch is not None:
        every = [c for group in groups.values() for c in group]
        checks.run("PyTorch: the small and odd shapes against torch.optim.Adam", every, lambda case: _first_step_differing(
            case, [(p,) for p in torch_steps(torch, case)], [s[:1] for s in learner_steps(learner, case)]))
    lines = checks.attempt(lambda: _training_differences(learner))
    checks.add(f"training {models.DESCRIPTION} for {MODEL_STEPS} steps (lr {MODEL_LR}): your adam_step for every "
               "parameter in place of optim.Adam, every parameter compared", [lines] if lines else [])
    return None


def _training_differences(learner):
    reference, learners = models.transformer(), models.transformer()
    batch = models.batch()
    adam = optim.Adam(reference.parameters(), lr=MODEL_LR)
    moments = {name: (np.zeros(p.shape), np.zeros(p.shape)) for name, p in learners.named_parameters()}
    for t in range(1, MODEL_STEPS + 1):
        model_run.record(reference, batch)
        adam.step()
        model_run.record(learners, batch)
        for name, p in learners.named_parameters():
            if p.grad is None:
                continue
            param, m, v = step(learner, p.numpy(), p.grad.numpy(), *moments[name], t, MODEL_LR, (0.9, 0.999), 1e-8)
            p.data, moments[name] = param, (m, v)
        wrong = [name for (name, e), (_, g) in zip(reference.named_parameters(), learners.named_parameters())
                 if array_differences((name,), (e.numpy(),), (g.numpy(),))]
        if wrong:
            shown = ", ".join(wrong[:3]) + (", ..." if len(wrong) > 3 else "")
            return [f"after step t = {t}: {len(wrong)} of {len(moments)} parameters differ ({shown})"]
    return []
