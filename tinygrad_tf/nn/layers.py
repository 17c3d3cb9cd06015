"""The basic layers: Linear, Embedding, LayerNorm, Dropout."""
import math

import numpy as np

import ops

from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x @ weight.T + bias, with weight of shape (out_features, in_features) as in PyTorch.

    The weight starts Xavier/Glorot uniform, the bias at zero.

    Args:
        in_features, out_features: sizes of the input's and the output's last axis.
        bias: whether to add a learned bias.
        fused: one `linear` node (True) or the graph matmul(x, weight.T) + bias (False).
    """

    def __init__(self, in_features, out_features, bias=True, fused=True):
        super().__init__()
        self.in_features, self.out_features, self.fused = in_features, out_features, fused
        self.weight = Parameter(np.zeros((out_features, in_features)))
        self.bias = Parameter(np.zeros(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        self.weight.data[...] = init.xavier_uniform(self.weight.shape)
        if self.bias is not None:
            self.bias.data[...] = 0.0

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            where = f" at {self.path}" if self.path else ""
            raise ValueError(f"Linear({self.in_features}, {self.out_features}){where}: input has last axis "
                             f"{x.shape[-1]} (shape {x.shape})")
        return ops.linear(x, self.weight, self.bias, fused=self.fused)  # (..., out_features)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """A table of `num_embeddings` vectors of size `embedding_dim`, looked up by token id.

    Vectors start N(0, 1/embedding_dim), so after the Transformer's sqrt(d_model) scaling
    they have unit variance. The `padding_idx` row starts at zero and gets no gradient.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.weight = Parameter(np.zeros((num_embeddings, embedding_dim)))
        self.reset_parameters()

    def reset_parameters(self):
        self.weight.data[...] = init.normal(self.weight.shape, 1.0 / math.sqrt(self.embedding_dim))
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0.0

    def forward(self, tokens):
        return ops.embedding(tokens, self.weight, padding_idx=self.padding_idx)  # tokens.shape + (embedding_dim,)

    def extra_repr(self):
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class LayerNorm(Module):
    """Normalise the last axis, then scale by `weight` (ones) and shift by `bias` (zeros).

    Args:
        normalized_shape: size of the last axis (an int, or a 1-tuple as PyTorch also takes).
        eps: added to the (biased) variance.
        fused: use the single fused node (True) or the graph of primitives (False).
    """

    def __init__(self, normalized_shape, eps=1e-5, fused=True):
        super().__init__()
        shape = tuple(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
        if len(shape) != 1:
            raise ValueError(f"LayerNorm normalises the last axis only: normalized_shape must be one size, got {shape}")
        self.normalized_shape, self.eps, self.fused = shape, eps, fused
        self.weight = Parameter(np.ones(shape))
        self.bias = Parameter(np.zeros(shape))

    def reset_parameters(self):
        self.weight.data[...] = 1.0
        self.bias.data[...] = 0.0

    def forward(self, x):
        return ops.layer_norm(x, self.weight, self.bias, self.eps, fused=self.fused)

    def extra_repr(self):
        return f"{self.normalized_shape[0]}, eps={self.eps}"


class Dropout(Module):
    """Zero activations with probability p while training; identity in eval mode."""

    def __init__(self, p=0.1):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x):
        return ops.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


def set_fused(module, fused=True):
    """Run every Linear and LayerNorm in `module` as one fused node each, or as the graph of primitives.

    The composed form gives the same numbers and shows every step (matmul and
    add; mean, subtract, variance, ...), for pictures and step-by-step walks.
    Returns `module`.
    """
    for m in module.modules():
        if isinstance(m, (Linear, LayerNorm)):
            m.fused = fused
    return module
