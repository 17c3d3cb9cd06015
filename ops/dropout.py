"""Inverted dropout: zero activations at random while training, scale the rest."""
from autograd import Function
from autograd.random import generator


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, p, rng):
        keep = (rng.random(x.shape, dtype=x.dtype) >= p).astype(x.dtype)
        mask = keep / (1.0 - p) if p < 1 else keep  # expected value stays x
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask, None, None


def dropout(x, p=0.5, training=True, rng=None):
    """Zero each element with probability `p` and scale survivors by 1/(1-p).

    Args:
        x: input tensor.
        p: drop probability in [0, 1].
        training: identity when False (evaluation).
        rng: a NumPy/CuPy Generator; defaults to the device's seeded one
            (`autograd.manual_seed`).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    return Dropout.apply(x, p, rng if rng is not None else generator(x.device))
