# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The Transformer, picture by picture
#
# This notebook walks the path of the illustrated explainers of "Attention Is
# All You Need": a sentence goes in, becomes rows of numbers, the encoder lets
# every word look at every other word, the decoder writes the translation one
# word at a time while looking back at the encoder. Every picture here is
# drawn from the numbers that *this* model computes for one sentence, so you
# can check any of them against the model's own tensors.
#
# Each picture comes from two calls: one computes its numbers (a small
# dataclass of NumPy arrays you can inspect), one draws them (a matplotlib
# Figure, shown inline).
#
# **Which model.** A trained English→Spanish model if there is one in
# `runs/eng-spa` (`tinygrad-tf train --task eng-spa --out runs/eng-spa`, a few
# minutes); otherwise the next cell trains a small one (about a minute on a
# laptop). A model that has trained only briefly has learned little, and the
# pictures say so honestly: the mechanics are exact, the meaning is what it is.

# %%
import os
import sys
import tempfile

# Run from a plain checkout too: put the repository root on the path.
root = os.path.abspath("")
while not os.path.isdir(os.path.join(root, "tinygrad_tf")) and os.path.dirname(root) != root:
    root = os.path.dirname(root)
sys.path.insert(0, root)

from tinygrad_tf import TrainConfig, Trainer, tour  # noqa: E402

SENTENCE = "The animal didn't cross the street because it was too tired."
run = os.path.join(root, "runs", "eng-spa")
if not os.path.isfile(os.path.join(run, "checkpoint.json")):
    run = os.path.join(tempfile.mkdtemp(prefix="tour-notebook-"), "eng-spa")
    steps = int(os.environ.get("TOUR_NOTEBOOK_STEPS", "150"))  # more steps: a model that has learned more
    config = TrainConfig.for_task("eng-spa", steps=steps, d_model=32, heads=4, layers=2, d_ff=64, max_pairs=4000,
                                  batch_tokens=800, warmup=60, dropout=0.0, label_smoothing=0.0, eval_every=10**6,
                                  bleu_sentences=5)
    Trainer(config, out=run, log=lambda *a, **k: None).fit(progress=False)
subject = tour.load_subject(run, SENTENCE)
print("the model reads:", " ".join(subject.src_tokens))
print("it writes:      ", " ".join(subject.output_tokens))
for warning in subject.reading.warnings:  # words it does not know reach it as <unk>
    print("warning:", warning)

# %% [markdown]
# ## 1. Embeddings
# The encoder cannot read words, only numbers: each token is looked up in a
# learned table (one row of `d_model` numbers per word), scaled by √d_model,
# and the positional encoding of its place is added. **Look for:** rows that
# differ from word to word in panel 1; the same word ("the", twice) has the same
# embedding but a different row after the position is added (panel 4). A word
# the model does not know is labelled `<unk> (word)`: all such words share one row.

# %%
tour.draw_embeddings(tour.embeddings_data(subject))

# %% [markdown]
# ## 2. The encoder and decoder stacks
# The encoder is a stack of identical layers (self-attention, then a
# feed-forward network, each followed by add & norm); the decoder's layers add a
# cross-attention over the encoder's output. **Look for:** the red arrows: the
# encoder's output is the keys and values of every decoder layer.

# %%
tour.draw_stacks(tour.stacks_data(subject))

# %% [markdown]
# ## 3. Queries, keys and values
# Self-attention starts by multiplying each token's row by three learned
# matrices: X · W_Q + b = Q (what the word looks for), X · W_K + b = K (what it
# offers), X · W_V + b = V (what it passes on). We follow one head, head 0.
# **Look for:** the shapes: (tokens, d_model) · (d_model, d_k) = (tokens, d_k).

# %%
attention = tour.self_attention_data(subject, layer=0, head=0, word="it")
tour.draw_qkv(attention)

# %% [markdown]
# ## 4. One word's scores
# The query of "it" is compared with every key by a dot product; the scores are
# divided by √d_k and a softmax turns them into weights that sum to 1; the
# output of "it" is the weighted sum of the values. **Look for:** the word with
# the highest weight, and how the softmax sharpens the differences.

# %%
tour.draw_scores(attention)

# %% [markdown]
# The same numbers are in the dataclass. The weights of "it" sum to 1:

# %%
weights = attention.parts.weights[attention.head, attention.word]
{token: round(float(w), 3) for token, w in zip(attention.keys, weights)}, float(weights.sum())

# %% [markdown]
# ## 5. The matrix form
# All queries at once: softmax(Q Kᵀ / √d_k) V. **Look for:** each row of the
# softmax is one word's weights (picture 4 is one of these rows); the numbers
# too small to print are in the tour's HTML pages on hover.

# %%
tour.draw_matrix_form(attention)

# %% [markdown]
# ## 6. Multi-head attention
# Each head has its own W_Q, W_K, W_V, so each can attend differently; their
# outputs are laid side by side and W_O mixes them back into d_model numbers
# per token. **Look for:** heads whose weight patterns differ.

# %%
tour.draw_heads(attention)

# %% [markdown]
# ## 7. Where one word looks, and the head search
# The explainers show "it" attending to "animal". Does this model? The head
# search ranks every layer and head by the weight from "it" to "animal", and
# the picture follows the strongest one. **Look for:** the grid on the right and
# the sentence under the title: it says plainly whether the model learned the link.

# %%
search = tour.head_search(subject, "it", target="animal")
print(search.statement())
best = search.best
tour.draw_word_attention(tour.self_attention_data(subject, layer=best.layer, head=best.head, word="it"), "", search)

# %% [markdown]
# ## 8. Positional encoding
# Attention itself ignores word order, so the position is added to the
# embeddings: sines and cosines of decreasing frequency, one row per position
# (here the paper's d_model = 512). **Look for:** fast waves on the left, slow
# ones on the right; every row is different.

# %%
tour.draw_positional(tour.positional_data(positions=20, d_model=512))

# %% [markdown]
# ## 9. Residual connection and layer norm
# Each sublayer's output is added to its input (the residual) and the sum is
# normalised per token. **Look for:** the mean and spread lines: after the norm
# every token sits at mean 0 and the same scale.

# %%
tour.draw_residual_norm(tour.residual_norm_data(subject, layer=0))

# %% [markdown]
# ## 10. Cross-attention
# In the decoder the queries come from what it has written so far, the keys
# and values from the encoder's output. Each row is labelled `input →
# predicted`: the token the decoder read → the word it wrote there. **Look for:**
# which source words each output word reads.

# %%
tour.draw_cross_attention(tour.cross_attention_data(subject, layer=1, head=0))

# %% [markdown]
# ## 11. The causal mask
# While writing word i the decoder may not look at the words after it: those
# scores become −∞, so their weights are exactly 0. **Look for:** the zero upper
# triangle; each row still sums to 1.

# %%
tour.draw_causal_mask(tour.causal_data(subject, layer=0, head=0))

# %% [markdown]
# ## 12. Greedy decoding
# At each step the decoder's output vector goes through the final linear
# layer, which gives a logit to every word of the vocabulary; the softmax makes
# them probabilities and the likeliest word is appended. **Look for:** how sure
# the model is at each step (the top probability), and where it writes <eos>.

# %%
tour.draw_decoding(tour.decoding_data(subject, k=5))

# %% [markdown]
# ## Looking at tensors
# A Tensor shows its shape, dtype, the op that made it and its values; a
# graph shows inline as SVG (with Graphviz installed).

# %%
from autograd import Tensor  # noqa: E402

x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
y = (x * x).sum(axis=1)
y

# %% [markdown]
# The graph that made `y`, with the role of each node; backward's gradients
# would appear on red reversed edges with `show_backward=True`.

# %%
from tinygrad_tf.viz.display import show_graph  # noqa: E402

show_graph(y.sum())
