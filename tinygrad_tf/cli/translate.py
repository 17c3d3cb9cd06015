"""`tinygrad-tf translate` and `tinygrad-tf evaluate`."""
import os
import sys

import click

from autograd import backend

from ..data import detokenize
from ..train import Trainer, load_translator
from .common import fail_cleanly


@click.command()
@click.option("--checkpoint", "checkpoint_dir", required=True, type=click.Path(file_okay=False), help="A run directory.")
@click.option("--beam", type=click.IntRange(1, 64), default=1, show_default=True, help="Beam size (1 = greedy).")
@click.option("--device", type=click.Choice(backend.DEVICES), default=None)
@click.option("--attention-plot", type=click.Path(dir_okay=False), default=None,
              help="Also draw every layer's and head's attention to FILE (matplotlib). With several sentences, "
                   "one file each, numbered from 1: out.png -> out-1.png, out-2.png, ...")
@click.argument("sentences", nargs=-1)
@fail_cleanly
def translate(checkpoint_dir, beam, device, attention_plot, sentences):
    """Translate SENTENCES (or one sentence per line on stdin), one output line each."""
    if attention_plot:
        from .. import plots

        plots.require_matplotlib()  # before any work
    if not sentences:
        sentences = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    translator = load_translator(checkpoint_dir, device)
    for line in translator.translate(list(sentences), beam=beam):
        click.echo(line)
    if attention_plot:
        stem, ext = os.path.splitext(attention_plot)
        for i, sentence in enumerate(sentences, 1):
            path = attention_plot if len(sentences) == 1 else f"{stem}-{i}{ext}"
            plots.plot_attention(plots.attention_maps(translator, sentence, beam=beam), path)
            click.echo(f"attention plot: {path}", err=True)


@click.command()
@click.option("--checkpoint", "checkpoint_dir", required=True, type=click.Path(file_okay=False), help="A run directory.")
@click.option("--split", type=click.Choice(["test", "valid"]), default="test", show_default=True)
@click.option("--beam", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--max-sentences", type=int, default=None, help="Evaluate on the first N pairs only.")
@click.option("--device", type=click.Choice(backend.DEVICES), default=None)
@fail_cleanly
def evaluate(checkpoint_dir, split, beam, max_sentences, device):
    """Corpus BLEU on the run's test split, with sample translations."""
    trainer = Trainer.resume(checkpoint_dir, device=device, log=lambda *a: None)
    metrics = trainer.evaluate(split, max_sentences, beam=beam)
    click.echo(f"{split}: {metrics['detail']}")
    click.echo(f"{split}: loss {metrics['loss']:.3f}, exact match {100 * metrics['exact']:.1f}%")
    for src, ref, hyp in metrics["samples"]:
        click.echo(f"\n  source:    {detokenize(src)}\n  reference: {detokenize(ref)}\n  model:     {detokenize(hyp)}")
