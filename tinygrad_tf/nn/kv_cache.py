"""A key/value cache for incremental decoding.

Without a cache, decoding step t runs the decoder over the whole prefix of t
tokens again, so a sentence of n tokens costs about n²/2 positions. But in a
causal decoder the keys and values of the earlier positions never change once
computed: position i only ever attends to positions <= i. So each decoder
layer can keep them:

- self-attention: the keys and values of every position decoded so far; a new
  step projects only its one new token and appends that row;
- cross-attention: the keys and values of the encoder output, the same at every
  step, projected once on the first step.

Each step then costs one position per layer. In beam search the hypotheses
change from step to step (a beam continues the one it grew from), so the
cache's rows are reordered with them (`reorder`).

The cache holds Tensors made under `no_grad`: it is for inference only.
Training runs the whole target at once and never uses one.

    cache = DecoderCache(num_layers)
    for step in range(max_len):
        hidden = model.decode(memory, src_mask, last_token, cache=cache)  # (batch, 1, d_model)
"""
import numpy as np

import ops


class AttentionCache:
    """The keys and values (batch, heads, len, d_k) of one attention module, kept between steps.

    Args:
        static: True when the keys and values come from an input that does not
            change between steps (the encoder output in cross-attention): they
            are computed on the first call and reused. False for self-attention:
            each call's keys and values are appended to the ones before.
    """

    def __init__(self, static=False):
        self.static = static
        self.keys = self.values = None

    @property
    def ready(self):
        """True when a static cache already holds its keys and values (nothing to project)."""
        return self.static and self.keys is not None

    def extend(self, keys, values):
        """Append this step's keys and values (batch, heads, new, d_k); returns all of them so far."""
        if self.keys is None or self.static:
            self.keys, self.values = keys, values
        else:
            self.keys = ops.concatenate([self.keys, keys], axis=2)  # (batch, heads, len + new, d_k)
            self.values = ops.concatenate([self.values, values], axis=2)
        return self.keys, self.values

    def reorder(self, rows):
        """Keep batch rows `rows` (an int array; repeats allowed), e.g. the beams that continue.

        A static cache of one row (beam search's one source sentence) is left
        as it is: it broadcasts over any number of rows in the attention.
        """
        if self.keys is None or (self.static and self.keys.shape[0] == 1):
            return
        self.keys, self.values = self.keys[rows], self.values[rows]


class LayerCache:
    """The caches of one decoder layer: its masked self-attention and its cross-attention."""

    def __init__(self):
        self.self_attn = AttentionCache(static=False)
        self.cross_attn = AttentionCache(static=True)


class DecoderCache:
    """One `LayerCache` per decoder layer, and how many target positions they hold."""

    def __init__(self, num_layers):
        self.layers = [LayerCache() for _ in range(num_layers)]

    @property
    def length(self):
        """Target positions decoded so far (the position of the next token)."""
        keys = self.layers[0].self_attn.keys if self.layers else None
        return 0 if keys is None else keys.shape[2]

    def reorder(self, rows):
        """Reorder (or repeat, or drop) the batch rows of every layer's caches."""
        kept = self.layers[0].self_attn.keys if self.layers else None
        if kept is None or np.array_equal(rows, np.arange(kept.shape[0])):
            return  # nothing cached yet, or every row stays where it is
        for layer in self.layers:
            layer.self_attn.reorder(rows)
            layer.cross_attn.reorder(rows)
