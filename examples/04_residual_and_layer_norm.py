"""Residual connection and layer norm: LayerNorm(x + Sublayer(x)).

Paper: "Attention Is All You Need", section 3.1 (Encoder and Decoder Stacks),
and 5.4 (residual dropout):

    "the output of each sub-layer is LayerNorm(x + Sublayer(x)), where
     Sublayer(x) is the function implemented by the sub-layer itself."

Every attention and feed-forward block sits inside this wrapper. Layer norm
rescales each position's vector to mean 0 and variance 1 (then applies a
learned scale and shift), which keeps activations in a steady range layer
after layer. The residual "x +" gives the gradient a path that skips the
sublayer: d(x + f(x))/dx = I + df/dx, so even when the sublayer's own
gradient df/dx is tiny -- early in training, or a saturated block -- the
gradient reaching x is still about as large as the gradient arriving from
above. Stack six such layers and the difference decides whether the bottom
layers learn at all.

This script builds a sublayer whose gradient is tiny (a Linear layer whose
weights are scaled by 1e-6), runs LayerNorm(x + Sublayer(x)) and
LayerNorm(Sublayer(x)), backpropagates the same upstream gradient through
both, and compares the gradient norms at the input -- for one layer and for
a stack of six.

Run:  python examples/04_residual_and_layer_norm.py
"""
import os
import sys

import numpy as np

# Let the script run from a plain checkout (without `pip install -e .`).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import autograd  # noqa: E402
from autograd import Tensor  # noqa: E402
from tinygrad_tf import nn  # noqa: E402

SEQ_LEN, D_MODEL = 4, 8
SCALE = 1e-6  # how much the sublayer shrinks its input (and so its gradient)
NUM_LAYERS = 6  # the paper's N


def step(number, title):
    print(f"\nStep {number}: {title}")


def tiny_sublayer():
    """A Linear(d_model, d_model) with weights scaled by SCALE: its Jacobian is tiny."""
    sublayer = nn.Linear(D_MODEL, D_MODEL)
    sublayer.weight.data[...] *= SCALE
    return sublayer


def input_gradient(x_data, upstream, layers, residual):
    """Run x through `layers` [(sublayer, norm), ...], send `upstream` back, return (output, x.grad).

    The scalar loss sum(output * upstream) has gradient `upstream` with respect
    to the output, so every variant below receives exactly the same signal.
    """
    x = Tensor(x_data, requires_grad=True)  # a fresh leaf each time, so gradients do not mix
    h = x
    for sublayer, norm in layers:
        h = norm(h + sublayer(h)) if residual else norm(sublayer(h))
    (h * Tensor(upstream)).sum().backward()
    return h, x.grad.numpy()


def main():
    """Run the walkthrough; return the inputs, weights and input gradients with and without residual."""
    autograd.manual_seed(0)
    rng = np.random.default_rng(0)

    step(1, "an input, a sublayer with a tiny gradient, and a layer norm")
    x_data = rng.normal(size=(1, SEQ_LEN, D_MODEL))  # (batch, len, d_model)
    upstream = rng.normal(size=(1, SEQ_LEN, D_MODEL))  # the gradient arriving from the layers above
    sublayer, norm = tiny_sublayer(), nn.LayerNorm(D_MODEL)
    print(f"  x {x_data.shape}; Sublayer = Linear({D_MODEL}, {D_MODEL}) with weights x {SCALE:g}; "
          f"LayerNorm({D_MODEL}, eps={norm.eps:g})")
    print(f"  |Sublayer weight| = {np.linalg.norm(sublayer.weight.numpy()):.2e}  (its Jacobian)")

    step(2, "forward: LayerNorm(x + Sublayer(x))")
    out, grad_with = input_gradient(x_data, upstream, [(sublayer, norm)], residual=True)
    print(f"  output {out.shape}; per-position mean {np.round(out.numpy().mean(-1).ravel(), 6) + 0.0}")
    print(f"  per-position std {np.round(out.numpy().std(-1).ravel(), 4)}  (layer norm: mean 0, std 1)")

    step(3, "backward with the residual: the gradient at x")
    print(f"  |upstream gradient| = {np.linalg.norm(upstream):.4f}")
    print(f"  |dLoss/dx| with residual    = {np.linalg.norm(grad_with):.4e}")

    step(4, "the same without the residual: LayerNorm(Sublayer(x))")
    # Layer norm divides by the std of its input, which would undo any scaling,
    # except that its eps (1e-5) dwarfs the tiny variance (~1e-12) of the
    # sublayer's output: the gradient stays small.
    _, grad_without = input_gradient(x_data, upstream, [(sublayer, norm)], residual=False)
    print(f"  |dLoss/dx| without residual = {np.linalg.norm(grad_without):.4e}")
    ratio = np.linalg.norm(grad_with) / np.linalg.norm(grad_without)
    print(f"  the residual path carries {ratio:,.0f} times more gradient to x")

    step(5, "where the gradient goes: LayerNorm(x) alone, no sublayer at all")
    # With the residual, x + Sublayer(x) is x plus a millionth of something, so
    # the gradient at x is essentially the one layer norm alone would give.
    def no_sublayer(h):
        return h * 0.0  # contributes nothing, so the block is LayerNorm(x)

    _, grad_norm_only = input_gradient(x_data, upstream, [(no_sublayer, norm)], residual=True)
    print(f"  |dLoss/dx| through LayerNorm(x) alone = {np.linalg.norm(grad_norm_only):.4e}")

    step(6, f"a stack of {NUM_LAYERS} such layers, as in the paper's encoder")
    stack = [(tiny_sublayer(), nn.LayerNorm(D_MODEL)) for _ in range(NUM_LAYERS)]
    _, deep_with = input_gradient(x_data, upstream, stack, residual=True)
    _, deep_without = input_gradient(x_data, upstream, stack, residual=False)
    print(f"  |dLoss/dx| with residuals    = {np.linalg.norm(deep_with):.4e}")
    print(f"  |dLoss/dx| without residuals = {np.linalg.norm(deep_without):.4e}"
          "  (each layer multiplies the gradient by a small factor)")

    return {
        "x": x_data, "upstream": upstream,
        "sublayer_weight": sublayer.weight.numpy(), "sublayer_bias": sublayer.bias.numpy(),
        "norm_weight": norm.weight.numpy(), "norm_bias": norm.bias.numpy(), "eps": norm.eps,
        "output": out.numpy(),
        "grad_with_residual": grad_with, "grad_without_residual": grad_without,
        "grad_layer_norm_only": grad_norm_only,
        "stack_weights": [(s.weight.numpy(), s.bias.numpy()) for s, _ in stack],
        "grad_stack_with_residual": deep_with, "grad_stack_without_residual": deep_without,
    }


if __name__ == "__main__":
    main()
