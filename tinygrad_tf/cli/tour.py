"""`tinygrad-tf tour`: one picture per concept of the Transformer, from a model's own numbers (matplotlib)."""
import os
import shutil
import tempfile

import click

from .. import outputs
from .common import TEXT, fail_cleanly, refuse_options


@click.command()
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Directory for the twelve PNGs and index.html (created if missing).")
@click.option("--checkpoint", "run_dir", type=click.Path(file_okay=False),
              help="A training run to draw (its vocabulary and weights); default: a small random model.")
@click.option("--sentence", type=TEXT, help="Source sentence (default: \"The animal didn't cross the street because it was too tired.\").")
@click.option("--layer", type=click.IntRange(0),
              help="Encoder layer of picture 07 [default: the head search's strongest, else the last].")
@click.option("--head", type=click.IntRange(0),
              help="Attention head the pictures follow [default: 0; picture 07: the head search's strongest].")
@click.option("--word", type=TEXT, help="Source word (or its position) whose attention pictures 04 and 07 follow [default: 'it' if present].")
@click.option("--target", type=TEXT, help="Source word (or its position) the head search ranks every layer and head by: "
                                          "the weight from --word to it [default: the word each head looks at most].")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), help="Device to run a checkpoint on [default: the run's].")
@click.option("--overwrite", is_flag=True, help="Replace an earlier tour in --out.")
@fail_cleanly
def tour(out, run_dir, sentence, layer, head, word, target, device, overwrite):
    """Draw the Transformer concept by concept, as PNGs with an index.html.

    Every picture is computed from the model's own tensors for one sentence:
    embeddings, the stacks, Q/K/V, one word's scores, the matrix form, the
    heads, one word's attention, the positional table, residual and layer
    norm, cross-attention, the causal mask and greedy decoding.

    \b
      tinygrad-tf tour --out tour
      tinygrad-tf train --task eng-spa --out runs/eng-spa
      tinygrad-tf tour --out tour-trained --checkpoint runs/eng-spa --word it --target animal
    """
    from ..plots import require_matplotlib
    from .. import tour as tour_pictures

    require_matplotlib()
    if run_dir is None:
        refuse_options("without --checkpoint: the small random model is drawn on the CPU", "device")
    sentence = tour_pictures.DEFAULT_SENTENCE if sentence is None else sentence
    if run_dir is not None:
        if not os.path.isdir(run_dir):
            raise click.ClickException(f"--checkpoint {run_dir} is not a directory")
        subject = tour_pictures.load_subject(run_dir, sentence, device)
        source = f"the training run {run_dir}"
    else:
        subject = tour_pictures.random_subject(sentence)
        source = "a small model with fixed random weights (the mechanics are real, the meaning is not)"
    layers = len(subject.model.encoder.layers)
    if layer is not None and layer >= layers:
        raise click.ClickException(f"--layer {layer}: the model has {layers} encoder layers (0 to {layers - 1})")
    heads = subject.model.encoder.layers[0].self_attn.num_heads
    if head is not None and head >= heads:
        raise click.ClickException(f"--head {head}: the model has {heads} heads (0 to {heads - 1})")
    for line in subject.reading.warnings:
        click.echo(click.style("warning: ", fg="red", bold=True) + line, err=True)
    choice = tour_pictures.Choice(layer, head, word, target)
    search = tour_pictures.head_search(subject, word, target)  # a bad --word or --target fails before any picture
    _say_search(search)
    paths = _write_whole(out, overwrite, lambda folder: tour_pictures.write_tour(
        folder, subject, choice, source, progress=lambda name: click.echo(f"  {name}")))
    click.echo(f"wrote {len(paths) - 1} pictures and {paths[-1]}")


def _say_search(search, shown=5):
    """The head search's best heads and its finding, in the terminal."""
    word = search.tokens[search.word]
    click.echo(f"head search for '{word}'" + (f" → '{search.tokens[search.target]}'" if search.target is not None else "")
               + f" (all {search.grid.size} encoder heads, by the weight above the other words' mean):")
    for match in search.ranking[:shown]:
        click.echo(f"  layer {match.layer} head {match.head}: {match.numbers()} on '{match.key_token}'")
    click.echo(f"  {search.statement()}")


def _write_whole(out, overwrite, write):
    """Run `write(folder)` into a new folder beside `out`, then move every file it wrote into `out`.

    A tour that fails halfway (a bad sentence, a full disk, Ctrl-C) leaves
    `out` as it was: an older tour there is replaced only by a complete one.
    Returns the paths in `out` of what `write` returned, in its order.
    """
    from ..tour.pictures import FILES
    from ..tour.write import INDEX

    if os.path.exists(out) and not os.path.isdir(out):
        raise click.ClickException(f"--out {out} exists and is not a directory")
    if os.path.exists(os.path.join(out, INDEX)) and not overwrite:
        raise click.ClickException(f"{out} already holds a tour ({INDEX}); choose another --out or pass --overwrite")
    for name in FILES + (INDEX,):  # before drawing: a device or folder in the way is refused at once
        outputs.check(os.path.join(out, name))
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f".{os.path.basename(os.path.abspath(out))}.tmp-", dir=parent)
    try:
        written = write(scratch)
        names = sorted(os.listdir(scratch))  # the pictures, their numbers pages and index.html
        os.makedirs(out, exist_ok=True)
        for name in names:  # again, all before any is replaced: something may have appeared while drawing
            outputs.check(os.path.join(out, name))
        for name in names:
            os.replace(os.path.join(scratch, name), os.path.join(out, name))
        return [os.path.join(out, os.path.basename(path)) for path in written]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
