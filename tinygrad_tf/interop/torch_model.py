"""The Transformer of `tinygrad_tf.nn` in torch.nn: the one PyTorch definition of the model.

Used by `tinygrad_tf.interop` (to_torch / from_torch / export) and by the
benchmarks (`tinygrad_tf.bench`), which compare the two engines like for like.

Same architecture as ours: embeddings scaled by sqrt(d_model), the sinusoid
table (added, not scaled), post-norm encoder and decoder layers
(LayerNorm(x + Dropout(Sublayer(x))), eps 1e-5) or pre-norm ones
(x + Dropout(Sublayer(LayerNorm(x))), with a final LayerNorm after each
stack), dropout on the embeddings, the attention weights, the residual
branches and inside the ReLU (or GELU) feed-forward, and a generator Linear
to vocabulary logits, optionally tied to the target embedding (and the source's). Module names
are ours (`encoder.layers.0.self_attn`, `decoder.layers.1.cross_attn`,
`feed_forward.linear1`, `norm3`, `encoder.norm`, `generator`), so weights
copy across.

Two attention implementations:

- "mha" (default): `torch.nn.MultiheadAttention`, the module a PyTorch user
  reaches for. It packs q, k and v into `in_proj_weight` / `in_proj_bias`
  and, asked for no weights, runs `scaled_dot_product_attention`.
- "manual": a hand-written equivalent with our four Linears
  (q_proj, k_proj, v_proj, out_proj) and an explicit masked softmax, op for
  op what ours computes; its state-dict names are exactly ours. Exported
  models use it.

Importing this module imports torch.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.positional import sinusoid_table

ATTENTIONS = ("mha", "manual")
ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}  # F.gelu is the exact (erf) form, as ours


class MultiheadAttention(nn.MultiheadAttention):
    """torch's module, called with a prepared mask dict and returning only the output."""

    def __init__(self, d_model, num_heads, dropout):
        super().__init__(d_model, num_heads, dropout=dropout, batch_first=True)

    def forward(self, query, key, value, mask):  # mask: dict(key_padding_mask=..., attn_mask=...), True = blocked
        return super().forward(query, key, value, need_weights=False, **mask)[0]


class ManualAttention(nn.Module):
    """Multi-head attention written out: projections, split heads, masked softmax, dropout, concat, project."""

    def __init__(self, d_model, num_heads, dropout):
        super().__init__()
        self.num_heads, self.d_k = num_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.out_proj = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def _split(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.d_k).transpose(1, 2)  # (batch, heads, len, d_k)

    def forward(self, query, key, value, mask):  # mask: bool broadcastable to (batch, heads, q_len, k_len), True = may attend
        q, k, v = self._split(self.q_proj(query)), self._split(self.k_proj(key)), self._split(self.v_proj(value))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.d_k)  # (batch, heads, q_len, k_len)
        weights = self.dropout(torch.softmax(scores.masked_fill(~mask, -math.inf), dim=-1))
        out = (weights @ v).transpose(1, 2).reshape(query.shape[0], query.shape[1], -1)
        return self.out_proj(out)


def _attention(kind, d_model, num_heads, dropout):
    if kind not in ATTENTIONS:
        raise ValueError(f"unknown torch attention {kind!r}; choose one of {', '.join(ATTENTIONS)}")
    return (MultiheadAttention if kind == "mha" else ManualAttention)(d_model, num_heads, dropout)


class FeedForward(nn.Module):
    def __init__(self, d_model, d_ff, dropout, activation="relu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"FeedForward: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation = activation
        self.linear1 = nn.Linear(d_model, d_ff)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(d_ff, d_model)

    def forward(self, x):
        return self.linear2(self.dropout(ACTIVATIONS[self.activation](self.linear1(x))))


def _residual(x, sublayer, norm, dropout, norm_first):
    """post-norm: norm(x + dropout(sublayer(x))); pre-norm: x + dropout(sublayer(norm(x)))."""
    if norm_first:
        return x + dropout(sublayer(norm(x)))
    return norm(x + dropout(sublayer(x)))


class EncoderLayer(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout, attention, norm_first=False, activation="relu"):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = _attention(attention, d_model, num_heads, dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1, self.norm2 = nn.LayerNorm(d_model, eps=1e-5), nn.LayerNorm(d_model, eps=1e-5)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x, src_mask):
        x = _residual(x, lambda y: self.self_attn(y, y, y, src_mask), self.norm1, self.dropout1, self.norm_first)
        return _residual(x, self.feed_forward, self.norm2, self.dropout2, self.norm_first)


class DecoderLayer(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, dropout, attention, norm_first=False, activation="relu"):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = _attention(attention, d_model, num_heads, dropout)
        self.cross_attn = _attention(attention, d_model, num_heads, dropout)
        self.feed_forward = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model, eps=1e-5) for _ in range(3))
        self.dropout1, self.dropout2, self.dropout3 = (nn.Dropout(dropout) for _ in range(3))

    def forward(self, x, memory, src_mask, tgt_mask):
        x = _residual(x, lambda y: self.self_attn(y, y, y, tgt_mask), self.norm1, self.dropout1, self.norm_first)
        x = _residual(x, lambda y: self.cross_attn(y, memory, memory, src_mask), self.norm2, self.dropout2, self.norm_first)
        return _residual(x, self.feed_forward, self.norm3, self.dropout3, self.norm_first)


class Stack(nn.Module):
    """The layers of the encoder or decoder, and (pre-norm) the LayerNorm after the last one."""

    def __init__(self, layers, d_model, norm_first=False):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(d_model, eps=1e-5) if norm_first else None

    def finish(self, x):
        return x if self.norm is None else self.norm(x)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout, max_len):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("pe", torch.tensor(sinusoid_table(max_len, d_model), dtype=torch.float32))

    def forward(self, x):
        return self.dropout(x + self.pe[: x.shape[1]])


class TorchTransformer(nn.Module):
    """Arguments as `tinygrad_tf.nn.Transformer`, plus `attention` ("mha" or "manual").

    `config` holds the arguments it was built with (what `interop.export` saves).
    """

    def __init__(self, src_vocab, tgt_vocab, d_model=512, num_heads=8, num_encoder_layers=6, num_decoder_layers=6,
                 d_ff=2048, dropout=0.1, max_len=5000, norm_first=False, tie_weights=False, pad_id=0,
                 activation="relu", attention="mha"):
        super().__init__()
        self.config = dict(src_vocab=src_vocab, tgt_vocab=tgt_vocab, d_model=d_model, num_heads=num_heads,
                           num_encoder_layers=num_encoder_layers, num_decoder_layers=num_decoder_layers, d_ff=d_ff,
                           dropout=dropout, max_len=max_len, norm_first=norm_first, tie_weights=tie_weights,
                           pad_id=pad_id, activation=activation, attention=attention)
        self.d_model, self.pad_id, self.attention = d_model, pad_id, attention
        self.src_embed = nn.Embedding(src_vocab, d_model, padding_idx=pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model, padding_idx=pad_id)
        self.positional = PositionalEncoding(d_model, dropout, max_len)
        layer_args = (d_model, num_heads, d_ff, dropout, attention, norm_first, activation)
        self.encoder = Stack([EncoderLayer(*layer_args) for _ in range(num_encoder_layers)], d_model, norm_first)
        self.decoder = Stack([DecoderLayer(*layer_args) for _ in range(num_decoder_layers)], d_model, norm_first)
        self.generator = nn.Linear(d_model, tgt_vocab)
        if tie_weights in (True, "all"):  # the paper's three-way tying: one matrix for both embeddings and the output
            self.src_embed.weight = self.tgt_embed.weight
        if tie_weights:  # "target": the target embedding and the output projection only
            self.generator.weight = self.tgt_embed.weight

    def masks(self, src, tgt):
        """(src_mask, tgt_mask) in the form the attention modules take (computed once per forward)."""
        src_pad, tgt_pad = src == self.pad_id, tgt == self.pad_id
        n = tgt.shape[1]
        blocked = torch.triu(torch.ones(n, n, dtype=torch.bool, device=tgt.device), diagonal=1)
        if self.attention == "mha":
            return dict(key_padding_mask=src_pad, attn_mask=None), dict(key_padding_mask=tgt_pad, attn_mask=blocked)
        return ~src_pad[:, None, None, :], ~tgt_pad[:, None, None, :] & ~blocked

    def forward(self, src, tgt):
        """Logits (batch, tgt_len, tgt_vocab) for source and target ids (batch, len); padding is pad_id."""
        src_mask, tgt_mask = self.masks(src, tgt)
        scale = math.sqrt(self.d_model)
        x = self.positional(self.src_embed(src) * scale)
        for layer in self.encoder.layers:
            x = layer(x, src_mask)
        memory, y = self.encoder.finish(x), self.positional(self.tgt_embed(tgt) * scale)
        for layer in self.decoder.layers:
            y = layer(y, memory, src_mask, tgt_mask)
        return self.generator(self.decoder.finish(y))


def from_config(config, attention="mha", max_len=None):
    """The reference model for a `BenchConfig`."""
    return TorchTransformer(config.vocab, config.vocab, config.d_model, config.heads, config.encoder_layers,
                            config.decoder_layers, config.d_ff, config.dropout,
                            max_len=max_len or max(64, config.src_len, config.tgt_len), attention=attention)


def loss_fn(logits, targets, pad_id=0, label_smoothing=0.1):
    """Label-smoothed cross-entropy averaged over the targets that are not padding (as ops.cross_entropy)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad_id,
                           label_smoothing=label_smoothing)


def torch_name(name, d_model):
    """Our state-dict name -> (the reference's name, the rows of it that hold ours) for the "mha" variant."""
    for i, p in enumerate("qkv"):
        for kind in ("weight", "bias"):
            ours = f"{p}_proj.{kind}"
            if name.endswith(ours):
                return name[: -len(ours)] + f"in_proj_{kind}", slice(i * d_model, (i + 1) * d_model)
    return name, slice(None)


@torch.no_grad()
def load_from_ours(model, state):
    """Copy our state dict (name -> NumPy array, e.g. `Transformer.state_dict()`) into the reference model.

    Every parameter of the reference must be set; raises KeyError otherwise.
    A tied generator is listed under both its names, as in torch's own state dict.
    """
    own = model.state_dict(keep_vars=True)  # parameters and buffers, tied ones under each name
    params = {id(p) for p in model.parameters()}
    covered = {n: torch.zeros(t.shape[0] if t.ndim else 1, dtype=torch.bool) for n, t in own.items() if id(t) in params}
    for name, array in state.items():
        tname, rows = torch_name(name, model.d_model) if model.attention == "mha" else (name, slice(None))
        if tname not in own:
            raise KeyError(f"{name}: the torch reference has no {tname}")
        target = own[tname]
        value = torch.as_tensor(array, dtype=target.dtype)
        if tname.endswith("positional.pe"):  # tables of different lengths: copy the overlap
            n = min(target.shape[0], value.shape[0])
            target[:n] = value[:n]
            continue
        if tuple(value.shape) != tuple(target[rows].shape):
            raise ValueError(f"{name}: ours has shape {tuple(value.shape)}, the torch model's {tname} {tuple(target[rows].shape)}")
        target[rows] = value
        covered[tname][rows] = True
    missing = [n for n, c in covered.items() if not bool(c.all())]
    if missing:
        raise KeyError(f"torch reference parameters not set from ours: {missing}")
    return model
