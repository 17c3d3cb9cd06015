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
# # Exercises: write the piece yourself
#
# Reading a backward rule is one thing; writing it is another. Each exercise
# asks for one piece of the Transformer as a plain function in a file of your
# own: a backward rule (matmul, softmax, layer norm, cross-entropy), the
# attention, the causal mask, the positional table, an Adam step.
# `exercises.check` runs your function beside the engine's own at small and
# odd shapes, against finite differences, and then **inside a real
# Transformer in place of the op**, comparing every node of the graph with the
# reference run. When a backward is wrong it names the first node whose
# gradient differs, and what that gradient should have been.
#
# This notebook walks through two of them, mistakes included. In a terminal the
# same is `tinygrad-tf exercise start softmax`, then
# `tinygrad-tf exercise check softmax softmax.py`.

# %%
import os
import sys
import tempfile

root = os.path.abspath("")
while not os.path.isdir(os.path.join(root, "tinygrad_tf")) and os.path.dirname(root) != root:
    root = os.path.dirname(root)
sys.path.insert(0, root)

from tinygrad_tf import exercises  # noqa: E402

for exercise in exercises.EXERCISES.values():
    print(f"{exercise.name:<20} {exercise.summary}")

# %% [markdown]
# ## 1. The backward of softmax
#
# `start` writes the file to fill in: the math (the same formulas as the op's
# own file, `ops/softmax.py`), the signature, and a body that raises
# `NotImplementedError`. Here it goes to a temporary folder.

# %%
work = tempfile.mkdtemp(prefix="exercises-")
path = exercises.start("softmax", work)
print(open(path, encoding="utf-8").read())


# %% [markdown]
# A first attempt. Softmax is elementwise-looking, so the tempting answer
# multiplies the incoming gradient by the derivative of each output with
# respect to its own input... and forgets that every output depends on every
# input, through the sum in the denominator.

# %%
def write(path, source):
    """Put `source` in the learner's file (what you would do in your editor)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(source)


write(path, '''
def softmax_backward(y, dy, axis=-1):
    return y * dy
''')
report = exercises.check("softmax", path)
report

# %% [markdown]
# Every check fails, and the last one says where: inside the Transformer, the
# softmax that makes the attention weights of the first encoder layer's
# self-attention sent a gradient of the wrong size; the row printed shows what
# it should have sent. Everything after it in the backward pass (the scores,
# the projections, the embeddings) went wrong because of it. The report is an
# object too:

# %%
wrong = report.first_wrong
print(wrong.label)
name, difference = wrong.sent[0]
print(name, difference.text())

# %% [markdown]
# The missing piece is the term that comes from the sum: each dx_i collects
# −y_i Σ_j dy_j y_j. With it every check passes.

# %%
write(path, '''
def softmax_backward(y, dy, axis=-1):
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))
''')
report = exercises.check("softmax", path)
report

# %% [markdown]
# ## 2. The causal mask
#
# The decoder may not look ahead: position i attends to positions 0 .. i.
# A classic slip is `np.tril(..., -1)`, which hides the word from itself too.

# %%
path = exercises.start("causal_mask", work)
write(path, '''
import numpy as np


def causal_mask(n):
    return np.tril(np.ones((n, n), dtype=bool), -1)
''')
report = exercises.check("causal_mask", path)
report

# %% [markdown]
# The mask is drawn as it should be and as it was: the diagonal is missing, so
# the first position may attend to nothing at all (its attention output is
# zero), and the model's logits and every gradient differ. Keeping the
# diagonal fixes it:

# %%
write(path, '''
import numpy as np


def causal_mask(n):
    return np.tril(np.ones((n, n), dtype=bool))
''')
report = exercises.check("causal_mask", path)
report

# %% [markdown]
# ## Next
#
# Six more wait: `tinygrad-tf exercise list`. `tinygrad-tf exercise hint NAME`
# gives one hint at a time, `tinygrad-tf exercise solution NAME` prints a
# solution, and `tinygrad-tf exercise check NAME FILE --explore page.html`
# writes the explorer page of your run, opened at the first wrong node.
