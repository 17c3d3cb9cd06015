"""`tinygrad-tf graph`: draw the computation graph of attention, a layer or a whole Transformer."""
import os

import click
import numpy as np

import autograd
import ops
from autograd import Tensor
from autograd import graph as pictures
from autograd.graph_walk import Walk

from .. import nn
from .common import Path, fail_cleanly

MODELS = ("attention", "encoder-layer", "decoder-layer", "transformer")
DEFAULTS = dict(d_model=16, heads=2, layers=2)
BATCH = 2


@click.command()
@click.argument("model", metavar="MODEL",
                type=click.Choice(MODELS, case_sensitive=False))
@click.option("--out", required=True, type=Path(dir_okay=False), help="The picture to write: .svg, .png or .pdf.")
@click.option("--format", "fmt", type=click.Choice(pictures.FORMATS, case_sensitive=False), default=None,
              help="Picture format.  [default: from --out's extension, else svg]")
@click.option("--d-model", type=click.IntRange(1, 1024), default=None, help="Model width.  [default: 16]")
@click.option("--heads", type=click.IntRange(1, 64), default=None, help="Attention heads.  [default: 2]")
@click.option("--layers", type=click.IntRange(1, 12), default=None,
              help="transformer: encoder and decoder layers (each).  [default: 2]")
@click.option("--seq-len", type=click.IntRange(1, 64), default=4, show_default=True, help="Length of the random input sequences.")
@click.option("--collapse", type=click.IntRange(min=0), default=None, metavar="N",
              help="Draw modules deeper than N path components as one box each (2 suits a Transformer).")
@click.option("--backward", is_flag=True, help="Also draw the gradients, on reversed red edges.")
@click.option("--composed", is_flag=True, help="Draw Linear and LayerNorm as their primitive ops (matmul, add, mean, ...).")
@click.option("--values/--no-values", default=False, show_default=True, help="Print the values of tensors with at most 16 elements.")
@click.option("--checkpoint", "checkpoint_dir", type=Path(file_okay=False), default=None, metavar="DIR",
              help="Draw the trained model saved in DIR instead of random weights.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True, help="Seed of the random weights and inputs.")
@fail_cleanly
def graph(model, out, fmt, d_model, heads, layers, seq_len, collapse, backward, composed, values, checkpoint_dir, seed):
    """Draw the computation graph of a small model as a picture (Graphviz).

    MODEL is attention (the whole multi-head attention: Q, K, V projections,
    head split, QK^T, scale, mask, softmax, weights x V, concatenation, W_O),
    encoder-layer, decoder-layer or transformer. Weights are random (seeded)
    unless --checkpoint names a trained run; ops are grouped by the module that
    ran them.
    """
    fmt = _format(out, fmt)
    autograd.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if checkpoint_dir is not None:
        given = [f"--{name.replace('_', '-')}" for name, v in (("d_model", d_model), ("heads", heads), ("layers", layers)) if v is not None]
        if given:
            raise click.UsageError(f"{', '.join(given)} cannot be used with --checkpoint: the sizes come from the checkpoint")
        output, title = _from_checkpoint(model.lower(), checkpoint_dir, seq_len, rng, not composed)
    else:
        d_model, heads, layers = (DEFAULTS[k] if v is None else v for k, v in (("d_model", d_model), ("heads", heads), ("layers", layers)))
        if d_model % heads:
            raise click.BadParameter(f"--d-model {d_model} is not divisible by --heads {heads}", param_hint="'--heads'")
        output, title = _random_model(model.lower(), d_model, heads, layers, seq_len, rng, not composed)
        title += f", random weights (seed {seed})"
    try:
        path = pictures.render(output, out, format=fmt, collapse=collapse, show_backward=backward,
                               show_values=None if values else False, title=title)
    except ImportError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {path} ({len(Walk(output).ops)} ops; Graphviz source in {os.path.splitext(path)[0]}.dot)")


def _format(out, fmt):
    ext = os.path.splitext(out)[1][1:].lower()
    if fmt is None:
        if ext and ext not in pictures.FORMATS:
            raise click.BadParameter(f"cannot tell the picture format from '.{ext}'; end the name in .svg, .png "
                                     "or .pdf, or give --format", param_hint="'--out'")
        return ext or "svg"
    fmt = fmt.lower()
    if ext and ext != fmt:
        raise click.BadParameter(f"{out} ends in .{ext} but --format is {fmt}", param_hint="'--out'")
    return fmt


def _inputs(rng, length, d_model, requires_grad=True):
    return Tensor(rng.normal(size=(BATCH, length, d_model)), requires_grad=requires_grad)


def _tokens(rng, length, vocab, pad_id=0):
    """Random ids, never `pad_id`, with the last position of the second sequence padded."""
    ids = rng.integers(0, vocab - 1, size=(BATCH, length))
    ids[ids >= pad_id] += 1
    if length > 1:
        ids[1, -1] = pad_id
    return Tensor(ids)


def _random_model(name, d_model, heads, layers, seq_len, rng, fused):
    """(output tensor, title) for a freshly initialised model, dropout off (`fused`: see `nn.set_fused`)."""
    holder = nn.Module()  # its child's dotted path ("self_attn", ...) labels the clusters
    sizes = f"d_model={d_model}, heads={heads}, seq_len={seq_len}"
    if name == "attention":
        holder.self_attn = nn.MultiHeadAttention(d_model, heads)
        x = _inputs(rng, seq_len, d_model)
        return nn.set_fused(holder, fused).self_attn(x, x, x, ops.causal_mask(seq_len)), f"multi-head self-attention, causal mask: {sizes}"
    pad = ops.padding_mask(_tokens(rng, seq_len, 8), 0)  # (batch, 1, 1, len)
    if name == "encoder-layer":
        holder.encoder_layer = nn.EncoderLayer(d_model, heads, 4 * d_model, dropout=0.0)
        return nn.set_fused(holder, fused).encoder_layer(_inputs(rng, seq_len, d_model), pad), f"encoder layer: {sizes}"
    if name == "decoder-layer":
        holder.decoder_layer = nn.DecoderLayer(d_model, heads, 4 * d_model, dropout=0.0)
        x, memory = _inputs(rng, seq_len, d_model), _inputs(rng, seq_len, d_model)
        tgt_mask = pad & ops.causal_mask(seq_len)
        return nn.set_fused(holder, fused).decoder_layer(x, memory, pad, tgt_mask), f"decoder layer: {sizes}"
    vocab = 11
    model = nn.Transformer(vocab, vocab, d_model, heads, layers, layers, 4 * d_model, dropout=0.0,
                           max_len=max(16, seq_len), pad_id=0)
    logits = nn.set_fused(model, fused)(_tokens(rng, seq_len, vocab), _tokens(rng, seq_len, vocab))
    return logits, f"Transformer, {layers} + {layers} layers, vocabulary {vocab}: {sizes}"


def _from_checkpoint(name, directory, seq_len, rng, fused):
    """(output tensor, title) for the trained model in `directory`, on random inputs."""
    from ..train import load_translator

    model = nn.set_fused(load_translator(directory, "cpu").model.eval(), fused)
    d_model = model.d_model
    where = f"trained model in {directory}"
    if name == "attention":  # the decoder's masked self-attention: the causal mask shows
        attn = model.decoder.layers[0].self_attn
        x = _inputs(rng, seq_len, d_model)
        return attn(x, x, x, ops.causal_mask(seq_len)), f"{attn.path}: {where}"
    vocab_src, vocab_tgt = model.src_embed.num_embeddings, model.tgt_embed.num_embeddings
    src = _tokens(rng, seq_len, vocab_src, model.pad_id)
    src_mask = model.src_mask(src)
    if name == "encoder-layer":
        layer = model.encoder.layers[0]
        return layer(_inputs(rng, seq_len, d_model), src_mask), f"{layer.path}: {where}"
    if name == "decoder-layer":
        layer = model.decoder.layers[0]
        tgt_mask = model.tgt_mask(_tokens(rng, seq_len, vocab_tgt, model.pad_id))
        x, memory = _inputs(rng, seq_len, d_model), _inputs(rng, seq_len, d_model)
        return layer(x, memory, src_mask, tgt_mask), f"{layer.path}: {where}"
    logits = model(src, _tokens(rng, seq_len, vocab_tgt, model.pad_id))
    return logits, f"Transformer: {where}"

