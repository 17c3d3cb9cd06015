"""The model every exercise is run inside: a small Transformer in float64, on one seeded batch.

Float64, so that a right answer agrees with the reference run to rounding
(about 1e-12) and a wrong one stands out; dropout 0, so that two runs repeat
exactly. d_k equals the sequence length (4), so that a product written with a
transpose in the wrong place still runs and is caught by its values.
"""
from dataclasses import dataclass

import numpy as np

import ops
from autograd import Tensor, manual_seed, mark

from .. import nn

SIZES = dict(d_model=8, heads=2, layers=2, d_ff=16, vocab=11, length=4, batch=2)
LABEL_SMOOTHING = 0.1
PAD = 0
DESCRIPTION = f"a Transformer ({SIZES['layers']} + {SIZES['layers']} layers, d_model {SIZES['d_model']}, float64)"


@dataclass
class Batch:
    """Source ids, the decoder's input ids, and the next-token targets (batch, length); the second sequence ends in padding."""

    src: Tensor
    tgt_in: Tensor
    target: Tensor


def transformer(seed=0):
    """A freshly initialised Transformer of SIZES, in float64, dropout 0; its layer norms' weights and biases
    random (seeded) rather than ones and zeros."""
    manual_seed(seed)
    s = SIZES
    model = nn.Transformer(s["vocab"], s["vocab"], s["d_model"], s["heads"], s["layers"], s["layers"], s["d_ff"],
                           dropout=0.0, max_len=16, pad_id=PAD)
    model = model.to(dtype="float64").eval()
    rng = np.random.default_rng(seed)
    for module in model.modules():  # away from 1 and 0, so that a rule that leaves them out is caught
        if isinstance(module, nn.LayerNorm):
            module.weight.data = 1 + 0.2 * rng.normal(size=module.weight.shape)
            module.bias.data = 0.2 * rng.normal(size=module.bias.shape)
    return model


def batch(seed=0):
    """The batch the runs read (ids 1 .. vocab-1; the last position of the second sequence is padding)."""
    rng = np.random.default_rng(seed)
    shape = (SIZES["batch"], SIZES["length"])

    def ids():
        values = rng.integers(1, SIZES["vocab"], size=shape)
        values[1, -1] = PAD
        return Tensor(values)

    return Batch(ids(), ids(), ids())


def loss(model, batch, tgt_mask=None):
    """(logits, loss): the model's logits and their label-smoothed cross-entropy, padding ignored."""
    logits = model(batch.src, batch.tgt_in, tgt_mask=tgt_mask)
    return logits, mark(ops.cross_entropy(logits, batch.target, ignore_index=PAD, label_smoothing=LABEL_SMOOTHING),
                        "loss")
