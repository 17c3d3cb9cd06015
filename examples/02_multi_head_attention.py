"""Multi-head attention: 8 heads of 64 on d_model = 512.

Paper: "Attention Is All You Need", section 3.2.2 (Multi-Head Attention):

    MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W_O
        where head_i = Attention(Q W_Q_i, K W_K_i, V W_V_i)

with h = 8 and d_k = d_v = d_model / h = 64. Instead of one attention over
512-wide vectors, the model runs 8 attentions side by side, each on its own
64-wide projection, so different heads can attend to different things (one
to the previous word, one to the verb, ...). Because each head is 8 times
narrower, the total cost is about that of one full-width attention.

In practice W_Q_1 ... W_Q_8 are the 64-column slices of one 512 x 512 matrix
W_Q, so "project, then cut into 8 heads" is the same as "8 separate
projections". This script does it head by head with our ops -- slice,
attend, concatenate, project with W_O -- printing the shapes, and checks the
result against `nn.MultiHeadAttention(512, 8)`, which does the same with
reshapes instead of a Python loop.

Run:  python examples/02_multi_head_attention.py
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

WORDS = ["I", "am", "a", "student", "."]
D_MODEL, NUM_HEADS = 512, 8
D_K = D_MODEL // NUM_HEADS  # 64


def step(number, title):
    print(f"\nStep {number}: {title}")


def main():
    """Run the walkthrough; return the per-head results, the output and the module's output."""
    autograd.manual_seed(0)  # the module's initial (Xavier) weights
    rng = np.random.default_rng(0)

    step(1, "the module and its weights")
    mha = nn.MultiHeadAttention(D_MODEL, NUM_HEADS).eval()
    print("  " + repr(mha).replace("\n", "\n  "))
    print(f"  {len(WORDS)} words, d_model={D_MODEL}, {NUM_HEADS} heads of d_k={D_K}")
    # Linear computes x @ weight.T + bias, so the paper's W_Q (d_model x d_model,
    # applied as x W_Q) is q_proj.weight transposed.
    W_Q, b_Q = mha.q_proj.weight.T, mha.q_proj.bias
    W_K, b_K = mha.k_proj.weight.T, mha.k_proj.bias
    W_V, b_V = mha.v_proj.weight.T, mha.v_proj.bias
    W_O, b_O = mha.out_proj.weight.T, mha.out_proj.bias
    print(f"  W_Q, W_K, W_V, W_O: each {W_Q.shape}; parameters in all: {mha.num_parameters():,}")

    step(2, "the input: one 512-wide vector per word")
    X = Tensor(rng.normal(size=(len(WORDS), D_MODEL)))  # (words, d_model)
    print(f"  X {X.shape}")

    step(3, "project once to Q, K, V (all heads at once)")
    Q = ops.matmul(X, W_Q) + b_Q  # (words, 512)
    K = ops.matmul(X, W_K) + b_K
    V = ops.matmul(X, W_V) + b_V
    print(f"  Q {Q.shape}, K {K.shape}, V {V.shape}")

    step(4, "each head attends on its own 64 columns")
    head_outputs, head_weights = [], []
    for i in range(NUM_HEADS):
        cols = slice(i * D_K, (i + 1) * D_K)  # head i owns columns 64 i .. 64 i + 63
        Q_i, K_i, V_i = Q[:, cols], K[:, cols], V[:, cols]  # (words, 64) each
        weights_i = ops.softmax(ops.matmul(Q_i, K_i.T) / math.sqrt(D_K), axis=-1)  # (words, words)
        head_i = ops.matmul(weights_i, V_i)  # (words, 64)
        head_outputs.append(head_i)
        head_weights.append(weights_i)
        # The weights are untrained, but already each head picks differently.
        top = weights_i.numpy().argmax(axis=-1)
        print(f"  head_{i + 1}: Q_i {Q_i.shape} K_i^T {K_i.T.shape} -> weights {weights_i.shape} "
              f"-> head_{i + 1} {head_i.shape}; most attended: {[WORDS[j] for j in top]}")

    step(5, "concatenate the 8 heads back to 512 columns")
    concat = ops.concatenate(head_outputs, axis=-1)  # (words, 8 * 64 = 512)
    print(f"  Concat(head_1..head_8) {concat.shape}")

    step(6, "mix the heads with the output projection W_O")
    # Without W_O each output column would come from a single head; W_O lets
    # every output dimension combine what all heads found.
    output = ops.matmul(concat, W_O) + b_O  # (words, 512)
    print(f"  Concat W_O {concat.shape} x {W_O.shape} -> {output.shape}")

    step(7, "compare with nn.MultiHeadAttention (reshape instead of a loop)")
    batch = X.reshape(1, len(WORDS), D_MODEL)  # (batch, len, d_model)
    mha_output = mha(batch, batch, batch)
    mha_weights = mha.attention_weights  # (batch, heads, q_len, k_len)
    print(f"  module output {mha_output.shape}, attention weights {mha_weights.shape}")
    same_output = np.allclose(mha_output.numpy()[0], output.numpy(), atol=1e-5)
    same_weights = np.allclose(mha_weights.numpy()[0], np.stack([w.numpy() for w in head_weights]), atol=1e-6)
    print(f"  output equal to the head-by-head computation:  {same_output}")
    print(f"  weights equal to the head-by-head computation: {same_weights}")

    return {
        "words": list(WORDS),
        "X": X.numpy(),
        "W_Q": W_Q.numpy(), "W_K": W_K.numpy(), "W_V": W_V.numpy(), "W_O": W_O.numpy(),
        "b_Q": b_Q.numpy(), "b_K": b_K.numpy(), "b_V": b_V.numpy(), "b_O": b_O.numpy(),
        "head_outputs": np.stack([h.numpy() for h in head_outputs]),  # (heads, words, 64)
        "head_weights": np.stack([w.numpy() for w in head_weights]),  # (heads, words, words)
        "concat": concat.numpy(), "output": output.numpy(),
        "mha_output": mha_output.numpy()[0], "mha_weights": mha_weights.numpy()[0],
        "same_output": same_output, "same_weights": same_weights,
    }


if __name__ == "__main__":
    main()
