# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The Transformer, picture by picture
#
# This notebook follows the path of the usual illustrated explainers of
# "Attention Is All You Need", but every picture is drawn from the numbers
# that *this* model computes for one sentence. Each picture comes from two
# calls: one that computes its numbers (a small dataclass of NumPy arrays you
# can inspect) and one that draws them (a matplotlib Figure, shown inline).
#
# Here the model is small and has fixed random weights, so the pictures show
# the mechanics, not meaning. Train a model (`tinygrad-tf train --task eng-spa
# --out runs/eng-spa`, a few minutes) and use `tour.load_subject("runs/eng-spa")`
# instead to see what a trained model does.

# %%
import os
import sys

# Run from a plain checkout too: put the repository root on the path.
root = os.path.abspath("")
while not os.path.isdir(os.path.join(root, "tinygrad_tf")) and os.path.dirname(root) != root:
    root = os.path.dirname(root)
sys.path.insert(0, root)

from tinygrad_tf import tour  # noqa: E402

subject = tour.random_subject("The animal didn't cross the street because it was too tired.")
print("source tokens:", subject.src_tokens)
print("greedy output:", subject.output_tokens)
subject.model.encoder.layers[0]  # a Module shows its children and parameter counts

# %% [markdown]
# ## 1. Embeddings
# Each token becomes a row of `d_model` numbers, is scaled by √d_model, and
# gets the positional encoding of its place added.

# %%
embeddings = tour.embeddings_data(subject)
tour.draw_embeddings(embeddings)

# %% [markdown]
# ## 2. The encoder and decoder stacks
# Drawn from the model's own modules: the boxes carry their module paths.

# %%
tour.draw_stacks(tour.stacks_data(subject))

# %% [markdown]
# ## 3. Queries, keys and values
# The first encoder layer multiplies its input X by W_Q, W_K and W_V. We follow
# head 0 and the word "it".

# %%
attention = tour.self_attention_data(subject, layer=0, head=0, word="it")
tour.draw_qkv(attention)

# %% [markdown]
# ## 4. One word's scores
# q("it") · k for every key, divided by √d_k, a softmax, then the weighted sum of the values.

# %%
tour.draw_scores(attention)

# %% [markdown]
# The same numbers are in the dataclass. The weights of "it" sum to 1:

# %%
weights = attention.parts.weights[attention.head, attention.word]
{token: round(float(w), 3) for token, w in zip(attention.keys, weights)}, float(weights.sum())

# %% [markdown]
# ## 5. The matrix form
# All queries at once: softmax(Q Kᵀ / √d_k) V, with the shapes in the titles.

# %%
tour.draw_matrix_form(attention)

# %% [markdown]
# ## 6. Multi-head attention
# Every head's weights, then the heads concatenated and multiplied by W_O.

# %%
tour.draw_heads(attention)

# %% [markdown]
# ## 7. Where one word looks
# The word's weights in the last encoder layer, as a heatmap and as lines.

# %%
tour.draw_word_attention(tour.self_attention_data(subject, layer=1, head=0, word="it"))

# %% [markdown]
# ## 8. Positional encoding
# The paper's table for 20 positions and d_model = 512, as the model adds it and as sin | cos halves.

# %%
tour.draw_positional(tour.positional_data(positions=20, d_model=512))

# %% [markdown]
# ## 9. Residual connection and layer norm

# %%
tour.draw_residual_norm(tour.residual_norm_data(subject, layer=0))

# %% [markdown]
# ## 10. Cross-attention
# The encoder output becomes the keys and values of every decoder layer's cross-attention.

# %%
tour.draw_cross_attention(tour.cross_attention_data(subject, layer=1, head=0))

# %% [markdown]
# ## 11. The causal mask

# %%
tour.draw_causal_mask(tour.causal_data(subject, layer=0, head=0))

# %% [markdown]
# ## 12. Greedy decoding

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
