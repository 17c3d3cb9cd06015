"""The model's own intermediate tensors, recomputed step by step with its modules and ops.

Every function here runs the subject's modules (embeddings, positional
encoding, layers, projections) under `no_grad`, stopping where a picture
needs to look inside. Attention is split into its steps with the same ops
`nn.scaled_dot_product_attention` uses, on the module's own projections, so
the weights equal the module's `.attention_weights` (the tests check this).
"""
import dataclasses
import math

import numpy as np

import ops
from autograd import no_grad


@dataclasses.dataclass
class AttentionParts:
    """One multi-head attention call taken apart; the batch axis is dropped.

    Attributes:
        x_query, x_key: (q_len, d_model) and (k_len, d_model) inputs (x_key feeds K and V).
        q, k, v: (heads, q_len | k_len, d_k) per-head projections.
        scores: (heads, q_len, k_len) Q Kᵀ; scaled: divided by √d_k.
        mask: (q_len, k_len) boolean, True = may attend.
        masked: scaled with −inf where the mask is False.
        weights: (heads, q_len, k_len) softmax of masked.
        z: (heads, q_len, d_k) weights @ V; concat: (q_len, d_model) the heads side by side.
        w_o: (d_model, d_model) the output projection as `concat @ w_o` uses it; output: (q_len, d_model).
        w_q, w_k, w_v: (d_model, d_model) the projections as `x @ w` uses them (Linear's weight transposed).
        b_q, b_k, b_v: (d_model,) their biases (zeros for a Linear without one).
    """

    x_query: np.ndarray
    x_key: np.ndarray
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scores: np.ndarray
    scaled: np.ndarray
    mask: np.ndarray
    masked: np.ndarray
    weights: np.ndarray
    z: np.ndarray
    concat: np.ndarray
    output: np.ndarray
    w_q: np.ndarray
    w_k: np.ndarray
    w_v: np.ndarray
    w_o: np.ndarray
    b_q: np.ndarray = None
    b_k: np.ndarray = None
    b_v: np.ndarray = None

    @property
    def d_k(self):
        return self.q.shape[-1]

    @property
    def num_heads(self):
        return self.q.shape[0]


@no_grad()
def attention_parts(attn, x_query, x_key, mask=None):
    """Run `attn` (an `nn.MultiHeadAttention`) on (1, len, d_model) inputs one step at a time."""
    q = attn._split_heads(attn.q_proj(x_query))  # (1, heads, q_len, d_k)
    k = attn._split_heads(attn.k_proj(x_key))  # (1, heads, k_len, d_k)
    v = attn._split_heads(attn.v_proj(x_key))  # (1, heads, k_len, d_k)
    scores = ops.matmul(q, k.swapaxes(-1, -2))  # (1, heads, q_len, k_len)
    scaled = scores / math.sqrt(q.shape[-1])
    masked = scaled if mask is None else ops.masked_fill(scaled, ~mask, -math.inf)
    weights = ops.softmax(masked, axis=-1)
    z = ops.matmul(weights, v)  # (1, heads, q_len, d_k)
    concat = z.swapaxes(1, 2).reshape(1, x_query.shape[1], attn.d_model)  # (1, q_len, d_model)
    output = attn.out_proj(concat)
    full_mask = np.ones(scores.shape[-2:], dtype=bool) if mask is None else np.broadcast_to(
        mask.numpy(), scores.shape)[0, 0]
    return AttentionParts(
        x_query.numpy()[0], x_key.numpy()[0], q.numpy()[0], k.numpy()[0], v.numpy()[0], scores.numpy()[0],
        scaled.numpy()[0], full_mask, masked.numpy()[0], weights.numpy()[0], z.numpy()[0], concat.numpy()[0],
        output.numpy()[0], attn.q_proj.weight.numpy().T, attn.k_proj.weight.numpy().T,
        attn.v_proj.weight.numpy().T, attn.out_proj.weight.numpy().T,
        *(_bias(proj) for proj in (attn.q_proj, attn.k_proj, attn.v_proj)))


def _bias(linear):
    """A Linear's bias as an array (zeros when it has none)."""
    return np.zeros(linear.out_features) if linear.bias is None else linear.bias.numpy()


@no_grad()
def source_embedding(subject):
    """(tokens, scaled, positioned): the source embeddings, ×√d_model, + positional encoding; Tensors (1, len, d)."""
    model = subject.model
    tokens = model.src_embed(subject.tensor(subject.src_ids))
    scaled = tokens * math.sqrt(model.d_model)
    return tokens, scaled, model.positional(scaled)


@no_grad()
def encoder_layer_input(subject, layer):
    """(x, src_mask): the Tensor (1, src_len, d_model) entering encoder layer `layer`, and the mask."""
    model = subject.model
    src = subject.tensor(subject.src_ids)
    mask = model.src_mask(src)
    x = source_embedding(subject)[2]
    for block in list(model.encoder.layers)[:layer]:
        x = block(x, mask)
    return x, mask


@no_grad()
def memory(subject):
    """The encoder output (1, src_len, d_model) and the source mask."""
    src = subject.tensor(subject.src_ids)
    mask = subject.model.src_mask(src)
    return subject.model.encode(src, mask), mask


@no_grad()
def decoder_layer_input(subject, layer):
    """(x, memory, src_mask, tgt_mask): what decoder layer `layer` reads, as Tensors."""
    model = subject.model
    mem, src_mask = memory(subject)
    tgt = subject.tensor(subject.tgt_ids)
    tgt_mask = model.tgt_mask(tgt)
    x = model.positional(model.tgt_embed(tgt) * math.sqrt(model.d_model))
    for block in list(model.decoder.layers)[:layer]:
        x = block(x, mem, src_mask, tgt_mask)
    return x, mem, src_mask, tgt_mask


def encoder_self_attention(subject, layer):
    """`AttentionParts` of encoder layer `layer`'s self-attention on the sentence."""
    x, mask = encoder_layer_input(subject, layer)
    block = subject.model.encoder.layers[layer]
    with no_grad():
        x = block.norm1(x) if block.norm_first else x  # pre-norm layers attend over the normalised input
    return attention_parts(block.self_attn, x, x, mask)


def decoder_self_attention(subject, layer):
    """`AttentionParts` of decoder layer `layer`'s masked self-attention."""
    x, _, _, tgt_mask = decoder_layer_input(subject, layer)
    block = subject.model.decoder.layers[layer]
    with no_grad():
        x = block.norm1(x) if block.norm_first else x
    return attention_parts(block.self_attn, x, x, tgt_mask)


def cross_attention(subject, layer):
    """`AttentionParts` of decoder layer `layer`'s attention over the encoder output (memory as K and V)."""
    x, mem, src_mask, tgt_mask = decoder_layer_input(subject, layer)
    block = subject.model.decoder.layers[layer]
    with no_grad():
        x = block.residual1(x, lambda y: block.self_attn(y, y, y, tgt_mask), block.norm1)
        x = block.norm2(x) if block.norm_first else x
    return attention_parts(block.cross_attn, x, mem, src_mask)
