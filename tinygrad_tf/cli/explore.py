"""`tinygrad-tf explore`: write the backprop explorer, one self-contained HTML page."""
import math
import os
import webbrowser

import click

from .. import outputs
from ..tour.concepts import concept_finder
from ..viz import explorer, graph, specimens
from ..viz.description import VALUE_LIMIT, GraphDescription
from .common import (
    TEXT, OutputFile, fail_cleanly, refuse_sizes_the_model_lacks, refuse_sizes_with_checkpoint, require_divisible,
)

DEFAULTS = dict(d_model=16, heads=2, layers=2)
LARGE_PAGE = 3_000_000  # bytes: above this, say how to make the page smaller
MAX_PAGE = 100_000_000  # bytes: a browser struggles with a bigger page, and building it takes many minutes
BYTES_PER_VALUE = 11  # an embedded number as the page's JSON writes it: "-0.1234568," (values and gradients)
LARGE_MODEL, LARGE_MODEL_COLLAPSE = "transformer", 2  # opened with its layers as boxes (click one to see inside)


@click.command()
@click.argument("model", metavar="MODEL", type=click.Choice(specimens.MODELS, case_sensitive=False))
@click.option("--out", required=True, type=OutputFile("html", "htm"), help="The page to write (.html).")
@click.option("--d-model", type=click.IntRange(1, 256), default=None, help="Model width.  [default: 16]")
@click.option("--heads", type=click.IntRange(1, 64), default=None, help="Attention heads.  [default: 2]")
@click.option("--layers", type=click.IntRange(1, 6), default=None,
              help="transformer: encoder and decoder layers (each).  [default: 2]")
@click.option("--seq-len", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Length of the random input sequences.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True, help="Seed of the weights, inputs and target.")
@click.option("--checkpoint", "checkpoint_dir", type=click.Path(file_okay=False), default=None, metavar="RUN",
              help="Explore the trained model saved in RUN instead of random weights.")
@click.option("--sentence", type=TEXT, default=None, help="With --checkpoint: the sentence the model reads (tokens label the axes).")
@click.option("--composed", is_flag=True, help="Show Linear and LayerNorm as their primitive ops (matmul, add, mean, ...).")
@click.option("--collapse", type=click.IntRange(min=0), default=None, metavar="N",
              help="Draw modules deeper than N path components as one box each [default: 2 for transformer, "
                   "whose every op does not fit a page (--collapse 9 draws them all); none otherwise].")
@click.option("--value-limit", type=click.IntRange(0, 1_000_000), default=VALUE_LIMIT, show_default=True,
              help="Embed the values of tensors with at most this many elements (larger ones: summaries only).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Check every backward step against central differences of its op.")
@click.option("--tour", "tour_dir", type=click.Path(file_okay=False, exists=True), default=None, metavar="DIR",
              help="A tour written by `tinygrad-tf tour --out DIR`: the side panel shows its picture of each "
                   "concept (Q, K, V, scores, the mask, ...) beside the node (linked, so keep both folders).")
@click.option("--open", "open_page", is_flag=True, help="Open the page in the default browser.")
@fail_cleanly
def explore(model, out, d_model, heads, layers, seq_len, seed, checkpoint_dir, sentence, composed, collapse,
            value_limit, check, tour_dir, open_page):
    """Write an interactive page that steps through the backward pass of MODEL, node by node.

    MODEL is attention, encoder-layer, decoder-layer, transformer or mlp. The
    page shows the computation graph (module clusters, as `tinygrad-tf graph`
    draws it), every tensor's value and gradient as heatmaps, and steps through
    backward from the loss (MSE against a fixed random target; cross-entropy for
    the transformer, against the model's own greedy translation with --sentence;
    the page states it at the top) with next/previous/play and the arrow keys. It is one file
    with everything inline: it opens from disk, offline, in any current browser.
    """
    model = model.lower()
    refuse_sizes_the_model_lacks(model)
    if not graph.dot_available():
        raise click.ClickException(graph.DOT_MISSING)
    if collapse is None and model == LARGE_MODEL:
        collapse = LARGE_MODEL_COLLAPSE
    specimen = _specimen(model, d_model, heads, layers, seq_len, seed, checkpoint_dir, sentence, composed)
    for line in specimen.warnings:
        click.echo(click.style("warning: ", fg="red", bold=True) + line, err=True)
    loss = specimens.loss_of(specimen, seed)
    _announce_size(GraphDescription(loss), value_limit, check)
    page = explorer.build(specimen, loss, collapse=collapse, value_limit=value_limit, check=check,
                          concept=concept_finder(tour_dir, out))
    with outputs.writing(out) as tmp:  # an older page stays whole until the new one is
        page.write(tmp)
    path = out
    size = os.path.getsize(path)
    click.echo(f"wrote {path} ({len(page.data['nodes'])} nodes, {len(page.data['steps'])} backward steps, "
               f"{size / 1e6:.2f} MB); open it in a browser")
    if size > LARGE_PAGE:
        click.echo(f"the page is large: a lower --value-limit (now {value_limit}) embeds fewer values and loads faster")
    if open_page:
        webbrowser.open("file://" + os.path.abspath(path))


def _page_bytes(sizes, value_limit):
    """About how many bytes the values and gradients of tensors of `sizes` elements take in the page."""
    return 2 * BYTES_PER_VALUE * sum(n for n in sizes if n <= value_limit)


def _announce_size(description, value_limit, check):
    """Before the work: refuse a page too big to build or open, and say what a big one will take."""
    sizes = [math.prod(t.shape) for t in description.tensors]
    estimate = _page_bytes(sizes, value_limit)
    if estimate > MAX_PAGE:
        fitting = max((n for n in sizes if _page_bytes(sizes, n) <= MAX_PAGE), default=0)
        raise click.UsageError(f"the page would embed about {estimate / 1e6:,.0f} MB of values, more than a browser "
                               f"opens well ({MAX_PAGE / 1e6:.0f} MB): give --value-limit {fitting} or less, or "
                               "smaller sizes")
    if estimate > LARGE_PAGE:
        checking = ", each step checked against central differences (--no-check skips that)" if check else ""
        click.echo(f"building a page of about {estimate / 1e6:.0f} MB: {len(description.ops)} ops to walk "
                   f"backward{checking}; this can take minutes...", err=True)


def _specimen(model, d_model, heads, layers, seq_len, seed, checkpoint_dir, sentence, composed):
    if checkpoint_dir is None:
        if sentence is not None:
            raise click.UsageError("--sentence needs --checkpoint: a random model has no vocabulary to read it with")
        d_model, heads, layers = (DEFAULTS[k] if v is None else v
                                  for k, v in (("d_model", d_model), ("heads", heads), ("layers", layers)))
        if model != "mlp":
            require_divisible(d_model, heads)
        specimen = specimens.random_specimen(model, d_model, heads, layers, seq_len, seed, fused=not composed, batch=1)
        specimen.title += f", random weights (seed {seed})"
        return specimen
    refuse_sizes_with_checkpoint(d_model=d_model, heads=heads, layers=layers)
    if model == "mlp":
        raise click.BadParameter("mlp is not part of a Transformer checkpoint; choose attention, encoder-layer, "
                                 "decoder-layer or transformer", param_hint="'MODEL'")
    return specimens.checkpoint_specimen(model, checkpoint_dir, seq_len, seed, fused=not composed, sentence=sentence,
                                         batch=1)
