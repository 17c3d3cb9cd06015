"""Where a forward piece first goes wrong inside the model: each attention's output, in the order the model
runs them, and the gradients that reach its Q, K and V.

The backward exercises blame the first backward node that sent a wrong
gradient; the forward pieces (the attention, the positional table, the causal
mask) change what the model computes, so their report names the first
attention, in running order, whose output differs from the reference run's.
Where every output agrees but the gradients do not (an attention computed on
`.data` gives the right numbers and cuts the graph), it names the first
attention whose Q, K or V received another gradient, or none.
"""
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np

from ..nn.attention import MultiHeadAttention
from . import model_run
from .compare import differs
from .report import difference_lines

INPUTS = ("Q", "K", "V")


@dataclass
class AttentionCall:
    """One run of a MultiHeadAttention's attention: its module path, output, and its q, k, v Tensors."""

    module: str
    output: np.ndarray
    inputs: tuple  # q, k, v: their .grad is kept, to be read after backward


def model_differences(model, batch, installed):
    """Lines saying where and how the model run with `installed` differs from the reference run ([]: it agrees).

    Args:
        installed: the context manager that puts the learner's piece in `model` (see `model_run.record`).
    """
    reference_calls, calls = [], []
    reference = model_run.record(model, batch, recording(model, None, reference_calls))
    run = model_run.record(model, batch, recording(model, installed, calls))
    return first_wrong_attention(reference_calls, calls) + model_run.output_differences(reference, run)


@contextmanager
def recording(model, installed, calls):
    """Enter `installed` (or nothing), then append an AttentionCall to `calls` at each attention `model` runs."""
    with installed or nullcontext() as loss_arguments:
        modules = [m for m in model.modules() if isinstance(m, MultiHeadAttention)]
        own = [vars(m).get("attention") for m in modules]  # what `installed` set on the instance, if anything
        for module in modules:
            module.attention = _recorder(module.path, module.attention, calls)
        try:
            yield loss_arguments
        finally:
            for module, attention in zip(modules, own):
                if attention is None:
                    del module.attention
                else:
                    module.attention = attention


def _recorder(path, attention, calls):
    def attend(q, k, v, mask=None, dropout=None):
        for tensor in (q, k, v):
            if tensor.requires_grad:
                tensor.retain_grad()
        value = attention(q, k, v, mask, dropout)
        output = value[0] if isinstance(value, tuple) else value
        calls.append(AttentionCall(path, output.numpy().copy(), (q, k, v)))
        return value
    return attend


def first_wrong_attention(reference_calls, calls):
    """Lines naming the first attention whose output differs, else the first whose Q, K or V gradient does."""
    for expected, got in zip(reference_calls, calls):
        difference = differs(expected.output, got.output)
        if difference is not None:
            return [f"first wrong: attention output in {got.module}"] + difference_lines("output ", "output", difference)
    for expected, got in zip(reference_calls, calls):
        lines = _gradient_lines(expected, got)
        if lines:
            return lines
    return []


def _gradient_lines(expected, got):
    """Lines about the gradients reaching q, k, v of one attention call ([]: they agree)."""
    missing, wrong = [], []
    for name, e, g in zip(INPUTS, expected.inputs, got.inputs):
        if e.grad is None:
            continue
        e_grad = e.grad.numpy()
        g_grad = None if g.grad is None else g.grad.numpy()
        if np.any(e_grad != 0) and (g_grad is None or not np.any(g_grad != 0)):
            missing.append((name, "None" if g_grad is None else "zero"))
        else:
            difference = differs(e_grad, g_grad)
            if difference is not None:
                wrong.append((name, difference))
    if missing:
        names = [name for name, _ in missing]
        names = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        kinds = " or ".join(dict.fromkeys(kind for _, kind in missing))
        gradients = f"the gradients of {names} are" if len(missing) > 1 else f"the gradient of {names} is"
        return [f"first wrong: the attention in {got.module}: its output does not depend on {names.lower()}",
                f"    {gradients} {kinds} (was it computed from .data or .numpy()? build it with ops, so that "
                "backward reaches them)"]
    if wrong:
        name, difference = wrong[0]
        return [f"first wrong: d{name} of the attention in {got.module}"] + difference_lines(f"d{name} ", f"d{name}", difference)
    return []
