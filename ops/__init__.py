"""The differentiable operations, one family per module.

    import ops
    y = ops.softmax(ops.matmul(q, k.swapaxes(-1, -2)) / 8.0, axis=-1)

Each op is a `autograd.Function` with a forward on backend arrays and an
analytic backward; the functions below are the way to call them. The fused
ops' files start with their math, and that readable Function is what runs.
`ops.fast.enable()` turns on faster forms of the same math (`ops.fast`);
`ops.dispatch` is the one place that picks the Function for each call.
"""
from .activation import gelu, relu, sigmoid, tanh
from .cast import cast
from .compare import (
    equal, greater, greater_equal, less, less_equal, logical_and, logical_not, logical_or,
    not_equal, where,
)
from .dropout import dropout
from .elementwise import abs, add, clip, div, exp, log, maximum, minimum, mul, neg, pow, sqrt, sub
from .embedding import embedding
from .linear import linear
from .loss import cross_entropy, mse_loss, nll_loss
from .masking import causal_mask, masked_fill, padding_mask
from .matmul import matmul
from .normalization import layer_norm
from .reduce import max, mean, min, sum, var
from .shape import (
    broadcast_to, concatenate, getitem, pad, reshape, split, squeeze, stack, swapaxes,
    transpose, unsqueeze,
)
from .softmax import log_softmax, softmax

__all__ = [
    "abs", "add", "broadcast_to", "cast", "causal_mask", "clip", "concatenate", "cross_entropy",
    "div", "dropout", "embedding", "equal", "exp", "gelu", "getitem", "greater", "greater_equal",
    "layer_norm", "less", "less_equal", "linear", "log", "log_softmax", "logical_and", "logical_not",
    "logical_or", "masked_fill", "matmul", "max", "maximum", "mean", "min", "minimum",
    "mse_loss", "mul", "neg", "nll_loss", "not_equal", "pad", "padding_mask", "pow", "relu",
    "reshape", "sigmoid", "softmax", "split", "sqrt", "squeeze", "stack", "sub", "sum",
    "swapaxes", "tanh", "transpose", "unsqueeze", "var", "where",
]
