"""Decoder masking: a word may not look at the words after it.

Paper: "Attention Is All You Need", sections 3.1 (Decoder) and 3.2.3:

    "We ... modify the self-attention sub-layer in the decoder stack to
     prevent positions from attending to subsequent positions. This masking,
     combined with fact that the output embeddings are offset by one
     position, ensures that the predictions for position i can depend only
     on the known outputs at positions less than i."
    "We implement this inside of scaled dot-product attention by masking out
     (setting to -inf) all values in the input of the softmax which
     correspond to illegal connections."

In training the decoder reads the whole target sentence at once (one pass
predicts every next word), so without a mask the word at position i could
simply copy the answer from position i + 1. The causal mask is a lower
triangle: row i may attend to columns 0..i. Scores above the diagonal become
-inf, exp(-inf) = 0, so after the softmax those weights are exactly 0 and
each row still sums to 1 over the positions it may see.

This script builds the mask for a 4-token target with `ops.causal_mask`,
applies it with `ops.masked_fill` before `ops.softmax`, prints every stage,
then shows with `nn.MultiHeadAttention` that changing the last word leaves
the outputs at the earlier positions exactly unchanged.

Run:  python examples/05_decoder_masking.py
"""
import math
import os
import sys

import numpy as np

# Let the script run from a plain checkout (without `pip install -e .`).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import autograd  # noqa: E402
import ops  # noqa: E402
from autograd import Tensor  # noqa: E402
from tinygrad_tf import nn  # noqa: E402

TARGET = ["<s>", "el", "gato", "duerme"]  # the decoder's input: the translation shifted right by <s>
D_MODEL = 8


def step(number, title):
    print(f"\nStep {number}: {title}")


def show(name, array, fmt="{:9.3f}"):
    """Print a (tokens x tokens) matrix with the target words on both axes."""
    array = array.numpy() if isinstance(array, Tensor) else np.asarray(array)
    print(f"  {name}  shape {array.shape}   (rows: query word, columns: key word)")
    print("  " + " " * 8 + "".join(f"{w:>9}" for w in TARGET))
    for word, row in zip(TARGET, array):
        print(f"  {word:>8}" + "".join(fmt.format(v) if np.isfinite(v) else f"{v:>9}" for v in row))


def main():
    """Run the walkthrough; return the mask, the scores before and after masking, the weights, and the module check."""
    autograd.manual_seed(0)
    rng = np.random.default_rng(0)
    n = len(TARGET)

    step(1, "the causal mask: True where word i may attend to word j (j <= i)")
    mask = ops.causal_mask(n)  # bool (4, 4), lower triangle True
    show("ops.causal_mask(4)", mask.numpy().astype(int), fmt="{:9d}")

    step(2, "raw attention scores Q K^T / sqrt(d_k) of the target with itself")
    X = Tensor(rng.normal(size=(n, D_MODEL)))  # (tokens, d_model) target embeddings
    W_Q = Tensor(rng.normal(size=(D_MODEL, D_MODEL)) / math.sqrt(D_MODEL))
    W_K = Tensor(rng.normal(size=(D_MODEL, D_MODEL)) / math.sqrt(D_MODEL))
    Q, K = ops.matmul(X, W_Q), ops.matmul(X, W_K)  # (tokens, d_k)
    scores = ops.matmul(Q, K.T) / math.sqrt(D_MODEL)  # (tokens, tokens)
    show("scores", scores)

    step(3, "set the forbidden scores (above the diagonal) to -inf")
    # masked_fill fills where its mask is True; our masks say True = "may
    # attend", so the positions to hide are ~mask.
    masked = ops.masked_fill(scores, ~mask, -math.inf)
    show("masked scores", masked)

    step(4, "softmax: exp(-inf) = 0, so future words get exactly zero weight")
    weights = ops.softmax(masked, axis=-1)
    show("weights", weights)
    w = weights.numpy()
    upper_zero = bool(np.all(w[np.triu_indices(n, k=1)] == 0.0))
    print(f"  upper triangle exactly 0: {upper_zero};  row sums: {w.sum(axis=-1)}")
    print(f"  '{TARGET[0]}' can only see itself: weights {w[0]}")

    step(5, "the same mask inside nn.MultiHeadAttention(d_model=8, num_heads=2)")
    mha = nn.MultiHeadAttention(D_MODEL, num_heads=2).eval()
    x = X.reshape(1, n, D_MODEL)  # (batch, len, d_model)
    # The (4, 4) mask broadcasts over batch and heads: (batch, heads, q_len, k_len).
    out = mha(x, x, x, mask=mask).numpy()
    mha_weights = mha.attention_weights.numpy()  # (1, 2, 4, 4)
    print(f"  output {out.shape}; attention weights {mha_weights.shape}")
    for h in range(mha_weights.shape[1]):
        print(f"  head {h + 1}: upper triangle all 0: {bool(np.all(np.triu(mha_weights[0, h], k=1) == 0.0))}")

    step(6, f"change the last word ('{TARGET[-1]}') and run again")
    changed_data = X.numpy().copy()
    changed_data[-1] = rng.normal(size=D_MODEL) * 10  # a completely different last word
    x_changed = Tensor(changed_data).reshape(1, n, D_MODEL)
    out_changed = mha(x_changed, x_changed, x_changed, mask=mask).numpy()
    for i, word in enumerate(TARGET):
        print(f"  position {i} ('{word}'): output changed by {np.abs(out_changed[0, i] - out[0, i]).max():.3g}")
    print("  earlier positions cannot see the change: the model cannot cheat by peeking ahead")

    return {
        "target": list(TARGET), "X": X.numpy(), "W_Q": W_Q.numpy(), "W_K": W_K.numpy(),
        "mask": mask.numpy(), "scores": scores.numpy(), "masked_scores": masked.numpy(),
        "weights": w, "upper_triangle_zero": upper_zero,
        "mha_weights": mha_weights[0], "output": out[0], "output_changed": out_changed[0],
    }


if __name__ == "__main__":
    main()
