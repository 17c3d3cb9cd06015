"""Checking the learner's constants: the positional table and the causal mask, beside the model's own and
then inside a Transformer in their place."""
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

import ops
from autograd import Tensor

from ..nn.positional import sinusoid_table
from . import attention_outputs, models
from .checking import array_differences
from .compare import ResultProblem


@dataclass
class Case:
    label: str
    arguments: tuple


def _checked(value, shape, function, kind):
    """The learner's array: numbers of `shape`, of the `kind` ('f' floats, 'b' booleans)."""
    if value is None:
        raise ResultProblem(f"{function} returned None: did it forget to `return`?")
    array = np.asarray(value)
    if array.shape != shape:
        raise ResultProblem(f"{function} returned shape {array.shape}; expected {shape}")
    if kind == "b" and array.dtype != bool:
        raise ResultProblem(f"{function} returned {array.dtype} values; expected bool (True = may attend)")
    if kind == "f" and array.dtype.kind not in "fiu":
        raise ResultProblem(f"{function} returned {array.dtype} values; expected floats")
    return array


def run_positional_encoding(exercise, learner, checks):
    """Add the positional table's checks to `checks` (returns None: no backward to blame)."""
    def compare(case):
        expected = sinusoid_table(*case.arguments)
        got = _checked(learner(*case.arguments), expected.shape, learner.name, "f")
        return array_differences(("table",), (expected,), (got,))

    groups = {"small shapes": [Case("(50, 16)", (50, 16)), Case("(10, 8)", (10, 8))],
              "odd shapes": [Case("an odd d_model (7, 5)", (7, 5)), Case("a single position (1, 4)", (1, 4)),
                             Case("d_model 2 (6, 2)", (6, 2)), Case("long sequences (2000, 32)", (2000, 32))]}
    for title, group in groups.items():
        checks.run(f"{title}: {'; '.join(c.label for c in group)}", group, compare)
    model = models.transformer()
    _model_check(checks, model, positional_installed(model, learner), "your table as the model's positional encoding")


@contextmanager
def positional_installed(model, learner):
    """Within the block `model`'s positional encoding adds the learner's table."""
    positional = model.positional
    table, shape = positional.pe, (positional.max_len, positional.d_model)
    positional.pe = Tensor(_checked(learner(*shape), shape, learner.name, "f"), dtype="float64")
    try:
        yield {}
    finally:
        positional.pe = table


def run_causal_mask(exercise, learner, checks):
    """Add the causal mask's checks to `checks` (returns None: no backward to blame)."""
    def compare(case):
        expected = ops.causal_mask(*case.arguments).numpy()
        got = _checked(learner(*case.arguments), expected.shape, learner.name, "b")
        if np.array_equal(expected, got):
            return []
        return _mask_differences(expected, got)

    groups = {"small shapes": [Case("n = 3", (3,)), Case("n = 5", (5,))],
              "odd shapes": [Case("a single position (n = 1)", (1,)), Case("n = 2", (2,)), Case("n = 16", (16,))]}
    for title, group in groups.items():
        checks.run(f"{title}: {'; '.join(c.label for c in group)}", group, compare)
    model, batch = models.transformer(), models.batch()
    _model_check(checks, model, mask_installed(model, batch, learner), "the decoder's mask built with your causal_mask",
                 batch)


@contextmanager
def mask_installed(model, batch, learner):
    """Within the block the model's loss on `batch` takes a decoder mask built with the learner's causal mask."""
    n = batch.tgt_in.shape[1]
    mask = _checked(learner(n), (n, n), learner.name, "b")
    yield dict(tgt_mask=model.src_mask(batch.tgt_in) & Tensor(mask))


def _model_check(checks, model, installed, what, batch=None):
    batch = batch or models.batch()
    lines = checks.attempt(lambda: attention_outputs.model_differences(model, batch, installed))
    checks.add(f"inside {models.DESCRIPTION}: {what}, each attention's output, the logits and every gradient compared",
               [lines] if lines else [])


def _mask_differences(expected, got):
    """Lines showing how the mask `got` differs from `expected`: side by side (1: may attend, .: may not) when
    small, else the count and the first place."""
    wrong = np.argwhere(expected != got)
    if expected.shape[0] > 8:
        i, j = wrong[0]
        return [f"the mask differs at {len(wrong)} of {expected.size} entries, first at [{i}, {j}] "
                f"(should be {bool(expected[i, j])}, was {bool(got[i, j])})"]
    width = 2 * expected.shape[1] - 1

    def row(values):
        return " ".join("1" if v else "." for v in values)

    lines = ["the mask differs (1: may attend, .: may not)", f"  {'should be':<{max(width, 9)}}   was"]
    return lines + [f"  {row(e):<{max(width, 9)}}   {row(g)}" for e, g in zip(expected, got)]
