"""`tinygrad-tf graph`: draw the computation graph of attention, a layer or a whole Transformer."""
import os

import click
import numpy as np

import autograd

from .. import outputs
from ..viz import graph as pictures
from ..viz import specimens
from ..viz.description import GraphDescription
from .common import (
    OutputFile, Path, fail_cleanly, refuse_sizes_the_model_lacks, refuse_sizes_with_checkpoint, require_divisible,
)

DEFAULTS = dict(d_model=16, heads=2, layers=2)
BATCH = 2
SLOW_EDGES = 700  # Graphviz's dot lays out a graph of a few hundred edges in seconds; far more take minutes


@click.command()
@click.argument("model", metavar="MODEL",
                type=click.Choice(specimens.MODELS, case_sensitive=False))
@click.option("--out", required=True, type=OutputFile(), help="The picture to write: .svg, .png or .pdf.")
@click.option("--format", "fmt", type=click.Choice(pictures.FORMATS, case_sensitive=False), default=None,
              help="Picture format.  [default: from --out's extension, else svg]")
@click.option("--d-model", type=click.IntRange(1, 1024), default=None, help="Model width.  [default: 16]")
@click.option("--heads", type=click.IntRange(1, 64), default=None, help="Attention heads.  [default: 2]")
@click.option("--layers", type=click.IntRange(1, 12), default=None,
              help="transformer: encoder and decoder layers (each).  [default: 2]")
@click.option("--seq-len", type=click.IntRange(1, 64), default=4, show_default=True, help="Length of the random input sequences.")
@click.option("--collapse", type=click.IntRange(min=0), default=None, metavar="N",
              help="Draw modules deeper than N path components as one box each (2 suits a Transformer).")
@click.option("--backward", is_flag=True,
              help="Also draw the gradients of a real loss (MSE against a fixed random target; cross-entropy for the "
                   "transformer), on reversed red edges.")
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
    encoder-layer, decoder-layer, transformer or mlp (two Linear layers with relu). Weights are random (seeded)
    unless --checkpoint names a trained run; ops are grouped by the module that
    ran them.
    """
    refuse_sizes_the_model_lacks(model.lower())
    fmt = _format(out, fmt)
    autograd.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if checkpoint_dir is not None:
        refuse_sizes_with_checkpoint(d_model=d_model, heads=heads, layers=layers)
        specimen = specimens.checkpoint_specimen(model.lower(), checkpoint_dir, seq_len, seed, not composed, batch=BATCH)
        output, title = specimen.output, specimen.title
    else:
        d_model, heads, layers = (DEFAULTS[k] if v is None else v for k, v in (("d_model", d_model), ("heads", heads), ("layers", layers)))
        if model.lower() != "mlp":
            require_divisible(d_model, heads)
        specimen = specimens.random_specimen(model.lower(), d_model, heads, layers, seq_len, seed, not composed, BATCH, rng)
        output, title = specimen.output, specimen.title
        title += f", random weights (seed {seed})"
    if backward:  # a real loss: the gradient of a plain sum through a final layer norm is rounding noise
        output = specimens.loss_of(specimen, seed)
        title += f"\nbackward seeded by loss = {specimens.loss_text(specimen)}"
    try:
        dot = pictures.to_dot(output, collapse=collapse, show_backward=backward, show_values=None if values else False,
                              title=title)
    except ImportError as e:
        raise click.ClickException(str(e)) from None
    path = out if os.path.splitext(out)[1] else f"{out}.{fmt}"
    source = os.path.splitext(path)[0] + ".dot"
    _warn_if_slow(dot, collapse)
    outputs.write_text(source, dot.source)  # first: it is kept even when drawing fails
    if not pictures.dot_available():
        raise click.ClickException(f"{path} was not drawn (its Graphviz source is in {source}): {pictures.DOT_MISSING}")
    with outputs.writing(path) as tmp:  # an older picture stays whole until the new one is
        pictures.write(dot, tmp, fmt, source=False)
    click.echo(f"wrote {path} ({len(GraphDescription(output).ops)} ops; Graphviz source in {source})")


def _warn_if_slow(dot, collapse):
    """Say before drawing when the graph is big enough for Graphviz to take minutes, and how to make it smaller."""
    edges = dot.source.count(" -> ")
    if edges > SLOW_EDGES:
        smaller = ("a smaller --collapse draws bigger modules as boxes" if collapse
                   else "--collapse 2 draws each layer as one box")
        click.echo(f"the graph has {edges} edges: Graphviz may take minutes to lay out more than {SLOW_EDGES} "
                   f"({smaller}); drawing...", err=True)


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
