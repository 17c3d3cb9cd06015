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
@click.option("--layer", type=click.IntRange(0), help="Encoder layer of picture 07 [default: the last].")
@click.option("--head", type=click.IntRange(0), default=0, show_default=True, help="Attention head the pictures follow.")
@click.option("--word", type=TEXT, help="Source word (or its position) whose attention pictures 04 and 07 follow [default: 'it' if present].")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), help="Device to run a checkpoint on [default: the run's].")
@click.option("--overwrite", is_flag=True, help="Replace an earlier tour in --out.")
@fail_cleanly
def tour(out, run_dir, sentence, layer, head, word, device, overwrite):
    """Draw the Transformer concept by concept, as PNGs with an index.html.

    Every picture is computed from the model's own tensors for one sentence:
    embeddings, the stacks, Q/K/V, one word's scores, the matrix form, the
    heads, one word's attention, the positional table, residual and layer
    norm, cross-attention, the causal mask and greedy decoding.

    \b
      tinygrad-tf tour --out tour
      tinygrad-tf train --task eng-spa --out runs/eng-spa
      tinygrad-tf tour --out tour-trained --checkpoint runs/eng-spa --layer 1 --head 2 --word it
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
    if head >= heads:
        raise click.ClickException(f"--head {head}: the model has {heads} heads (0 to {heads - 1})")
    choice = tour_pictures.Choice(layer, head, word)
    tour_pictures.data.find_word(subject, word)  # a bad --word fails before any picture is drawn
    paths = _write_whole(out, overwrite, lambda folder: tour_pictures.write_tour(
        folder, subject, choice, source, progress=lambda name: click.echo(f"  {name}")))
    click.echo(f"wrote {len(paths) - 1} pictures and {paths[-1]}")


def _write_whole(out, overwrite, write):
    """Run `write(folder)` into a new folder beside `out`, then move each file it wrote into `out`.

    A tour that fails halfway (a bad sentence, a full disk, Ctrl-C) leaves
    `out` as it was: an older tour there is replaced only by a complete one.
    Returns the paths in `out`, in the order `write` returned them.
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
        os.makedirs(out, exist_ok=True)
        paths = [os.path.join(out, os.path.basename(path)) for path in written]
        for target in paths:  # again, all before any is replaced: something may have appeared while drawing
            outputs.check(target)
        for path, target in zip(written, paths):
            os.replace(path, target)
        return paths
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
