# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The six walkthrough examples, with pictures
#
# The scripts in `examples/` compute each idea of the paper step by step and
# print the numbers. Here each one runs inline, followed by the tour's picture
# of the same idea, drawn from a small model with fixed random weights.

# %%
import importlib.util
import os
import sys

root = os.path.abspath("")
while not os.path.isdir(os.path.join(root, "tinygrad_tf")) and os.path.dirname(root) != root:
    root = os.path.dirname(root)
sys.path.insert(0, root)

from tinygrad_tf import tour  # noqa: E402


def example(name):
    """Load examples/<name>.py as a module (its main() prints the walkthrough)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(root, "examples", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


subject = tour.random_subject()
attention = tour.self_attention_data(subject, layer=0, head=0, word="it")

# %% [markdown]
# ## 1. Self-attention by hand (section 3.2.1)

# %%
_ = example("01_self_attention_by_hand").main()

# %%
tour.draw_scores(attention)

# %% [markdown]
# ## 2. Multi-head attention (section 3.2.2)

# %%
_ = example("02_multi_head_attention").main()

# %%
tour.draw_heads(attention)

# %% [markdown]
# ## 3. Positional encoding (section 3.5)

# %%
_ = example("03_positional_encoding").main()

# %%
tour.draw_positional(tour.positional_data())

# %% [markdown]
# ## 4. Residual connections and layer norm (sections 3.1 and 5.4)

# %%
_ = example("04_residual_and_layer_norm").main()

# %%
tour.draw_residual_norm(tour.residual_norm_data(subject))

# %% [markdown]
# ## 5. The decoder's causal mask (sections 3.1 and 3.2.3)

# %%
_ = example("05_decoder_masking").main()

# %%
tour.draw_causal_mask(tour.causal_data(subject))

# %% [markdown]
# ## 6. Encoder-decoder attention (section 3.2.3)

# %%
_ = example("06_encoder_decoder_attention").main()

# %%
tour.draw_cross_attention(tour.cross_attention_data(subject, layer=1))
