"""Checking a learner's attention: beside the model's own at small and odd shapes (output and the
gradients of Q, K and V), then in every attention of a Transformer."""
from contextlib import contextmanager

import numpy as np

import ops
from autograd import Tensor

from ..nn.attention import MultiHeadAttention, scaled_dot_product_attention
from . import attention_outputs, models
from .checking import array_differences
from .compare import ResultProblem

NAMES = ("output", "dQ", "dK", "dV")


class Case:
    """Q, K, V (float64), a mask (bool or None), and the gradient reaching the output."""

    def __init__(self, label, rng, q_shape, k_len, d_v=None, mask=None):
        *lead, q_len, d_k = q_shape
        self.label, self.mask = label, mask
        self.arrays = (rng.normal(size=q_shape), rng.normal(size=(*lead, k_len, d_k)),
                       rng.normal(size=(*lead, k_len, d_v or d_k)))
        self.dy = rng.normal(size=(*lead, q_len, d_v or d_k))


def cases(rng):
    causal = np.tril(np.ones((4, 4), dtype=bool))
    padding = np.array([True, True, True, False, False])[None, None, None, :]  # (1, 1, 1, k_len)
    nothing = np.ones((3, 4), dtype=bool)
    nothing[1] = False  # the second query may attend to nothing: its output is 0
    return {
        "small shapes": [Case("(2, 3, 4) queries, 5 keys, no mask", rng, (2, 3, 4), 5),
                         Case("(2, 2, 4, 3) with a causal mask", rng, (2, 2, 4, 3), 4, mask=causal)],
        "odd shapes": [Case("a single query (1, 1, 3)", rng, (1, 1, 3), 6),
                       Case("a padding mask (1, 1, 1, 5) broadcast over heads and queries", rng, (2, 2, 3, 4), 5,
                            mask=padding),
                       Case("a query that may attend to nothing (zero output)", rng, (3, 2), 4, mask=nothing),
                       Case("d_v (5) unlike d_k (2)", rng, (2, 3, 2), 4, d_v=5)],
    }


def outputs(attention, case):
    """(output, dQ, dK, dV) of `attention` on the case, backward from its `dy`."""
    q, k, v = (Tensor(a, requires_grad=True, dtype="float64") for a in case.arrays)
    mask = None if case.mask is None else Tensor(case.mask)
    with ops.fast.readable_only():
        out = output_of(attention(q, k, v, mask), q.shape[:-1] + (v.shape[-1],))
        out.backward(Tensor(case.dy))
    return (out.numpy(),) + tuple(np.zeros(t.shape) if t.grad is None else t.grad.numpy() for t in (q, k, v))


def output_of(value, shape):
    """The output Tensor in what the learner's attention returned (a Tensor, or (output, weights))."""
    out = value[0] if isinstance(value, tuple) and value else value
    if not isinstance(out, Tensor):
        raise ResultProblem(f"attention returned {type(out).__name__}; it must return a Tensor made with ops "
                            "(ops.matmul, ops.softmax, ...), so that backward runs through it")
    if tuple(out.shape) != tuple(shape):
        raise ResultProblem(f"attention returned an output of shape {tuple(out.shape)}; expected {tuple(shape)}")
    if not out.requires_grad:
        raise ResultProblem("attention's output is not in the graph of q, k and v (was it made from .numpy() "
                            "or .data?): backward cannot reach them")
    return out


def run(exercise, learner, checks):
    """Add the attention checks to `checks`; no single node is to blame here, so returns None."""
    rng = np.random.default_rng(0)

    def reference(q, k, v, mask):
        return scaled_dot_product_attention(q, k, v, mask)[0]

    def compare(case):
        return array_differences(NAMES, outputs(reference, case), outputs(learner, case))

    for title, group in cases(rng).items():
        checks.run(f"{title}: {'; '.join(c.label for c in group)}", group, compare)
    model, batch = models.transformer(), models.batch()
    lines = checks.attempt(lambda: attention_outputs.model_differences(model, batch, installed(model, learner)))
    checks.add(f"inside {models.DESCRIPTION}: your attention in each of its {3 * models.SIZES['layers']} attentions, "
               "each attention's output, the logits and every gradient compared", [lines] if lines else [])
    return None


@contextmanager
def installed(model, learner):
    """Within the block every MultiHeadAttention of `model` runs the learner's attention."""
    def attention(q, k, v, mask=None, dropout=None):  # the model's dropout is 0
        return output_of(learner(q, k, v, mask), q.shape[:-1] + (v.shape[-1],))

    modules = [m for m in model.modules() if isinstance(m, MultiHeadAttention)]
    for module in modules:
        module.attention = attention
    try:
        yield {}
    finally:
        for module in modules:
            del module.attention
