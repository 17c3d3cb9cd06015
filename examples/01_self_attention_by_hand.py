"""Self-attention by hand, on a four-word sentence.

Paper: "Attention Is All You Need", section 3.2.1 (Scaled Dot-Product Attention):

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

Every word's embedding x is projected three ways:
  * a query  q = x W_Q  -- what this word is looking for,
  * a key    k = x W_K  -- what this word offers to be matched against,
  * a value  v = x W_V  -- what this word hands on when it is matched.
The score of word i for word j is the dot product q_i . k_j. The scores are
divided by sqrt(d_k) so that their spread does not grow with the width d_k
(large scores push the softmax to one-hot outputs with vanishing gradients),
a softmax turns each row of scores into weights that sum to 1, and each
word's output is the weighted sum of all the values.

This script does each step with our ops on a sentence of four words with
4-dimensional embeddings, printing every intermediate, and then shows that
`nn.MultiHeadAttention` with a single head computes exactly the same thing
once its projections hold the same matrices.

Run:  python examples/01_self_attention_by_hand.py
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

WORDS = ["the", "cat", "sat", "down"]
D_MODEL = 4  # embedding width; with one head, d_k = d_v = d_model


def step(number, title):
    print(f"\nStep {number}: {title}")


def show(name, tensor, rows=None, cols=None):
    """Print a 2-D tensor with its shape, and word labels on rows/columns when given."""
    array = tensor.numpy() if isinstance(tensor, Tensor) else np.asarray(tensor)
    print(f"  {name}  shape {array.shape}")
    if cols is not None:
        print("  " + " " * 8 + "".join(f"{c:>9}" for c in cols))
    for i, row in enumerate(array):
        label = rows[i] if rows is not None else ""
        print(f"  {label:>8}" + "".join(f"{v:9.3f}" for v in row))


def main():
    """Run the walkthrough; return every intermediate as NumPy arrays (and the equality check)."""
    autograd.manual_seed(0)  # nn.MultiHeadAttention draws initial weights; we overwrite them anyway
    rng = np.random.default_rng(0)

    step(1, "embed the sentence: one row per word")
    # Real models learn these vectors; one decimal keeps them easy to read.
    X = Tensor(rng.normal(size=(len(WORDS), D_MODEL)).round(1))  # (words, d_model)
    show("X", X, rows=WORDS)

    step(2, "project every word to a query, a key and a value")
    # The three matrices are learned in a real model; here they are random.
    W_Q = Tensor(rng.normal(size=(D_MODEL, D_MODEL)).round(1))  # (d_model, d_k)
    W_K = Tensor(rng.normal(size=(D_MODEL, D_MODEL)).round(1))  # (d_model, d_k)
    W_V = Tensor(rng.normal(size=(D_MODEL, D_MODEL)).round(1))  # (d_model, d_v)
    Q = ops.matmul(X, W_Q)  # (words, d_k): row i is word i's query
    K = ops.matmul(X, W_K)  # (words, d_k)
    V = ops.matmul(X, W_V)  # (words, d_v)
    show("Q = X W_Q", Q, rows=WORDS)
    show("K = X W_K", K, rows=WORDS)
    show("V = X W_V", V, rows=WORDS)

    step(3, "score every query against every key: Q K^T")
    # scores[i, j] = q_i . k_j: how much word i should look at word j.
    scores = ops.matmul(Q, K.T)  # (words, words)
    show("scores = Q K^T", scores, rows=WORDS, cols=WORDS)

    d_k = Q.shape[-1]
    step(4, f"scale by 1 / sqrt(d_k) = 1 / sqrt({d_k})")
    # A dot product of d_k unit-variance terms has variance d_k; dividing by
    # sqrt(d_k) brings it back to about 1 whatever the width.
    scaled = scores / math.sqrt(d_k)
    show("scores / sqrt(d_k)", scaled, rows=WORDS, cols=WORDS)

    step(5, "softmax over each row: attention weights")
    weights = ops.softmax(scaled, axis=-1)  # (words, words), each row sums to 1
    show("weights", weights, rows=WORDS, cols=WORDS)
    print("  row sums:", weights.numpy().sum(axis=-1))
    # The projections are random, so which word wins means nothing yet;
    # training is what makes these weights line up with meaning.
    for i, word in enumerate(WORDS):
        j = int(weights.numpy()[i].argmax())
        print(f"  '{word}' attends most to '{WORDS[j]}' ({weights.numpy()[i, j]:.2f})")

    step(6, "each word's output: the weighted sum of the values")
    output = ops.matmul(weights, V)  # (words, d_v): row i = sum_j weights[i, j] * v_j
    show("output = weights V", output, rows=WORDS)

    step(7, "the same with nn.MultiHeadAttention(d_model=4, num_heads=1)")
    mha = nn.MultiHeadAttention(D_MODEL, num_heads=1).eval()
    # Our Linear computes x @ weight.T + bias (weight is (out, in), as in PyTorch),
    # so the projection that computes x @ W_Q holds W_Q^T. The biases are 0 and
    # the output projection W_O is the identity, so nothing else is added.
    identity = np.eye(D_MODEL)
    zeros = np.zeros(D_MODEL)
    mha.load_state_dict({
        "q_proj.weight": W_Q.numpy().T, "q_proj.bias": zeros,
        "k_proj.weight": W_K.numpy().T, "k_proj.bias": zeros,
        "v_proj.weight": W_V.numpy().T, "v_proj.bias": zeros,
        "out_proj.weight": identity, "out_proj.bias": zeros,
    })
    batch = X.reshape(1, len(WORDS), D_MODEL)  # modules take (batch, len, d_model)
    mha_output = mha(batch, batch, batch)  # self-attention: query = key = value = X
    mha_weights = mha.attention_weights  # (batch, heads, q_len, k_len)
    print(f"  input {batch.shape} -> output {mha_output.shape}; weights {mha_weights.shape}")
    same_output = np.allclose(mha_output.numpy()[0], output.numpy(), atol=1e-6)
    same_weights = np.allclose(mha_weights.numpy()[0, 0], weights.numpy(), atol=1e-6)
    print(f"  output equal to the hand computation:  {same_output}")
    print(f"  weights equal to the hand computation: {same_weights}")

    return {
        "words": list(WORDS),
        "X": X.numpy(), "W_Q": W_Q.numpy(), "W_K": W_K.numpy(), "W_V": W_V.numpy(),
        "Q": Q.numpy(), "K": K.numpy(), "V": V.numpy(),
        "scores": scores.numpy(), "scaled_scores": scaled.numpy(),
        "weights": weights.numpy(), "output": output.numpy(),
        "mha_output": mha_output.numpy()[0], "mha_weights": mha_weights.numpy()[0, 0],
        "same_output": same_output, "same_weights": same_weights,
    }


if __name__ == "__main__":
    main()
