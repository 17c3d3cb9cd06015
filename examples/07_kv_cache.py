"""The key/value cache: what one decoding step costs with and without it.

Decoding writes one token per step. Without a cache, step t feeds the whole
prefix (<bos> and the t - 1 tokens so far) through the decoder again: t
positions per layer, and a (t x t) grid of self-attention scores. But the
keys and values of the earlier positions never change (the decoder is causal),
so `nn.kv_cache` keeps them: step t then feeds only its newest token, one
position, and one row of t scores, and attends over the cached keys.

This script decodes one sentence greedily both ways with the same model,
printing per step the positions fed, the shape of the first decoder layer's
self-attention weights, the score entries computed per layer and head, and
the time (rough: a shared CPU). The next-token logits agree at every step.

    python examples/07_kv_cache.py
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from autograd import Tensor, manual_seed, no_grad  # noqa: E402
from tinygrad_tf.data import Vocab  # noqa: E402
from tinygrad_tf.nn import Transformer  # noqa: E402

STEPS = 24


@no_grad()
def decode(model, src, use_cache):
    """Greedy steps, returning per step (positions fed, self-attention shape, seconds, logits)."""
    src_mask = model.src_mask(src)
    memory = model.encode(src, src_mask)  # (1, src_len, d_model), once for the sentence
    cache = model.new_cache() if use_cache else None
    ys, steps = [Vocab.bos_id], []
    for _ in range(STEPS):
        fed = ys[-1:] if use_cache else ys  # the newest token, or the whole prefix
        start = time.perf_counter()
        hidden = model.decode(memory, src_mask, Tensor(np.array([fed])), cache=cache)  # (1, len(fed), d_model)
        logits = model.generator(hidden[:, -1]).numpy()[0]  # (vocab,)
        seconds = time.perf_counter() - start
        weights = model.decoder.layers[0].self_attn.attention_weights  # (1, heads, q_len, k_len)
        steps.append((len(fed), tuple(weights.shape), seconds, logits))
        choice = logits.copy()
        choice[[Vocab.pad_id, Vocab.bos_id, Vocab.eos_id]] = -np.inf  # keep going for STEPS tokens
        ys.append(int(choice.argmax()))
    return ys[1:], steps


def main():
    manual_seed(0)
    model = Transformer(200, 200, d_model=128, num_heads=4, num_encoder_layers=2, num_decoder_layers=4,
                        d_ff=512, dropout=0.0, max_len=64).eval()
    src = Tensor(np.array([list(range(10, 22)) + [Vocab.eos_id]]))  # (1, 13)
    plain_ids, plain = decode(model, src, use_cache=False)
    cached_ids, cached = decode(model, src, use_cache=True)

    print(f"decoding {STEPS} tokens, {len(model.decoder.layers)} decoder layers, d_model {model.d_model}\n")
    print("fed: positions through the decoder; weights: layer 0 self-attention (batch, heads, q_len, k_len);")
    print("scores: q_len x k_len per head and layer\n")
    print(f"      | {'without the cache':<33} | with the cache")
    print(f"step  | {'fed':>3} {'weights':>15} {'scores':>6} {'ms':>6} | {'fed':>3} {'weights':>15} {'scores':>6} {'ms':>6}")
    for t, ((fed_p, shape_p, sec_p, _), (fed_c, shape_c, sec_c, _)) in enumerate(zip(plain, cached), 1):
        print(f"{t:4d}  | {fed_p:3d} {str(shape_p):>15} {shape_p[2] * shape_p[3]:6d} {1000 * sec_p:6.1f}"
              f" | {fed_c:3d} {str(shape_c):>15} {shape_c[2] * shape_c[3]:6d} {1000 * sec_c:6.1f}")
    max_diff = max(float(np.abs(p[3] - c[3]).max()) for p, c in zip(plain, cached))
    fed_plain, fed_cached = sum(s[0] for s in plain), sum(s[0] for s in cached)
    print(f"\npositions fed to the decoder: {fed_plain} without the cache (1 + 2 + ... + {STEPS}), {fed_cached} with it")
    print(f"same tokens: {plain_ids == cached_ids}; largest logit difference {max_diff:.1e} (float32 rounding)")
    print(f"time for the {STEPS} steps (rough): {sum(s[2] for s in plain):.3f} s without, {sum(s[2] for s in cached):.3f} s with")
    return {"fed_plain": [s[0] for s in plain], "fed_cached": [s[0] for s in cached],
            "shapes_plain": [s[1] for s in plain], "shapes_cached": [s[1] for s in cached],
            "ids_plain": plain_ids, "ids_cached": cached_ids, "max_logit_diff": max_diff}


if __name__ == "__main__":
    main()
