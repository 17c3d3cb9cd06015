"""Batches of similar-length pairs under a token budget, padded once, with their masks."""
import numpy as np

import ops
from autograd import Tensor

from .vocab import Vocab


class Batch:
    """One padded batch on a device.

    Attributes:
        src: (batch, src_len) source ids.
        tgt_in: (batch, tgt_len) <bos> + target ids, the decoder's input.
        tgt_out: (batch, tgt_len) target ids + <eos>, what it should predict.
        src_mask: (batch, 1, 1, src_len) True on real source tokens.
        tgt_mask: (batch, 1, tgt_len, tgt_len) causal and padding.
        num_tokens: real target tokens (what the loss averages over).
    """

    def __init__(self, src_ids, tgt_ids, device="cpu"):
        src = _pad([s for s in src_ids])
        tgt_in = _pad([[Vocab.bos_id] + t for t in tgt_ids])
        tgt_out = _pad([t + [Vocab.eos_id] for t in tgt_ids])
        self.src = Tensor(src, device=device)
        self.tgt_in = Tensor(tgt_in, device=device)
        self.tgt_out = Tensor(tgt_out, device=device)
        self.src_mask = ops.padding_mask(self.src, Vocab.pad_id)
        causal = ops.causal_mask(tgt_in.shape[1], device=device)
        self.tgt_mask = ops.padding_mask(self.tgt_in, Vocab.pad_id) & causal
        self.num_tokens = int((tgt_out != Vocab.pad_id).sum())
        self.size = len(src_ids)

    def __len__(self):
        return self.size


def _pad(rows):
    out = np.full((len(rows), max(len(r) for r in rows)), Vocab.pad_id, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def make_batches(pairs, batch_tokens, seed=None):
    """Group encoded (src_ids, tgt_ids) pairs into lists of pairs under `batch_tokens`.

    Pairs are sorted by length (with a seeded shuffle among equal lengths), cut
    into batches whose padded size (batch x longest side + 1) stays under the
    budget, and the batch order is shuffled with `seed` (kept in order when
    `seed` is None, for evaluation).
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs)) if seed is not None else np.arange(len(pairs))
    order = sorted(order, key=lambda i: (len(pairs[i][1]), len(pairs[i][0])))
    batches, current, longest = [], [], 0
    for i in order:
        size = max(len(pairs[i][0]), len(pairs[i][1]) + 1)
        if current and max(longest, size) * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(pairs[i])
        longest = max(longest, size)
    if current:
        batches.append(current)
    if seed is not None:
        rng.shuffle(batches)
    return batches
