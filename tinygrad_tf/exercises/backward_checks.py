"""Checking a learner's backward rule: beside the engine at small and odd shapes, against finite
differences, against PyTorch where installed, and inside a Transformer in place of the op."""
from contextlib import contextmanager

import numpy as np

import ops

from . import model_run, models
from .backward_rules import RULES
from .checking import array_differences, optional_torch
from .compare import as_array, as_tuple, narrowed
from .gradients import engine_gradients, numeric_gradients

FINITE_DIFFERENCES = dict(rtol=1e-5, atol=1e-7)  # central differences are good to about 1e-9 here


def caller(rule, learner):
    """call(arguments, shapes): the learner's gradients for `arguments`, checked to be arrays of `shapes`.

    `call.narrowed` collects {gradient name: 'float16 where the inputs were float64'} for the gradients
    returned in a lower precision than the inputs: inside the model the engine casts them back, so the
    report learns it here.
    """
    def call(arguments, shapes):
        value = learner(*(np.array(a) if isinstance(a, np.ndarray) else a for a in arguments))  # copies: theirs to change
        values = (value,) if len(rule.outputs) == 1 else as_tuple(value, rule.outputs, learner.name)
        arrays = tuple(as_array(v, name, shape, learner.name) for v, name, shape in zip(values, rule.outputs, shapes))
        floats = [a.dtype for a in arguments if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
        given = np.result_type(*floats) if floats else np.float64
        for name, array in zip(rule.outputs, arrays):
            lower = narrowed(array.dtype, given)
            if lower is not None:
                call.narrowed[name] = lower
        return arrays
    call.narrowed = {}
    return call


def run(exercise, learner, checks):
    """Add the checks of the backward exercise `exercise` to `checks`; returns the model check's FirstWrong or None."""
    rule, call = RULES[exercise.name], caller(RULES[exercise.name], learner)
    rng = np.random.default_rng(0)

    def beside(reference):
        def compare(case):
            output, expected = engine_gradients(rule.forward(case), case.arrays, case.dy)
            if reference is not None:
                expected = reference(case)
            got = call(rule.arguments(case, output), [a.shape for a in case.arrays])
            return array_differences(rule.outputs, expected, got, **({} if reference is None else FINITE_DIFFERENCES))
        return compare

    groups = rule.cases(rng)
    for title, cases in groups.items():
        checks.run(f"{title}: {'; '.join(c.label for c in cases)}", cases, beside(None))
    finite = rule.gradient_cases(rng)
    checks.run(f"float64 finite differences: {'; '.join(c.label for c in finite)}", finite,
               beside(lambda case: numeric_gradients(rule.forward(case), case.arrays, case.dy)))
    torch = optional_torch()
    if torch is not None and hasattr(rule, "torch_reference"):
        cases = [c for cases in groups.values() for c in cases]
        checks.run("PyTorch: the small and odd shapes against torch's own gradient", cases,
                   beside(lambda case: rule.torch_reference(torch, case)))
    return model_check(rule, learner, call, checks)


def model_check(rule, learner, call, checks):
    """Run the Transformer with the learner's backward in place of the op, compare every node with the reference."""
    model, batch = models.transformer(), models.batch()
    where = f"every {rule.op.op_name()}" + (f" in {rule.module}" if rule.module else "")
    title = f"inside {models.DESCRIPTION}: your {learner.name} for {where}, every node compared"
    reference = model_run.record(model, batch)
    found = None

    def compare():
        nonlocal found
        call.narrowed.clear()  # what the model's run returned, not the cases'
        run = model_run.record(model, batch, installed(rule, call))
        found = model_run.first_wrong(reference, run, {rule.op.op_name(): rule.outputs})
        for name, difference in found.sent if found is not None else ():
            difference.narrowed = call.narrowed.get(name)
        return [] if found is None else ["a gradient differs: see first wrong below"]

    lines = checks.attempt(compare)
    checks.add(title, [lines] if lines else [])
    return found


@contextmanager
def installed(rule, call):
    """Within the block the learner's backward runs in place of the rule's op (the model's loss takes no arguments)."""
    replacement = rule.stand_in(call)
    replacement.name = rule.op.op_name()  # its nodes are called what the op's are ('matmul', not the class's name)
    with ops.dispatch.stand_in(rule.op, replacement, module=rule.module):
        yield {}

