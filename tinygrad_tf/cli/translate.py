"""`tinygrad-tf translate` and `tinygrad-tf evaluate`."""
import os
import sys

import click

from autograd import backend

from ..data import detokenize, tokenize
from ..train import Trainer, load_translator
from .common import Path, fail_cleanly, require_device


@click.command()
@click.option("--checkpoint", "checkpoint_dir", required=True, type=Path(file_okay=False), help="A run directory.")
@click.option("--beam", type=click.IntRange(1, 64), default=1, show_default=True, help="Beam size (1 = greedy).")
@click.option("--device", type=click.Choice(backend.DEVICES), default=None,
              help="cpu (NumPy) or cuda (CuPy).  [default: the run's]")
@click.option("--attention-plot", type=Path(dir_okay=False), default=None,
              help="Also draw every layer's and head's attention to FILE (matplotlib). With several sentences, "
                   "one file each, numbered from 1: out.png -> out-1.png, out-2.png, ...")
@click.argument("sentences", nargs=-1)
@fail_cleanly
def translate(checkpoint_dir, beam, device, attention_plot, sentences):
    """Translate SENTENCES (or one sentence per line on stdin), one output line each.

    Each line is written as soon as it is translated. A blank input line
    gives a blank output line, and so does a line that cannot be translated
    (not UTF-8, or longer than the model's positions): that is reported on
    stderr, the other lines are still translated, and the exit status is 1.
    """
    if attention_plot:
        from .. import plots

        plots.require_matplotlib()  # before any work
    require_device(device)
    translator = load_translator(checkpoint_dir, device)
    if sentences:
        lines = [_checked_argument(s) for s in sentences]
    else:
        if sys.stdin.isatty():
            click.echo("reading sentences from stdin, one per line (end with Ctrl-D)", err=True)
        lines = _stdin_lines()
    failed, total, plotted = 0, 0, []
    for number, line in enumerate(lines, 1):
        total += 1
        try:
            text = _translate_line(translator, line, beam)
        except ValueError as e:
            failed += 1
            click.echo(f"line {number}: {e}; left untranslated", err=True)
            text = ""
        click.echo(text)
        sys.stdout.flush()
        if attention_plot and text:
            plotted.append(line)
    if attention_plot:
        stem, ext = os.path.splitext(attention_plot)
        for i, sentence in enumerate(plotted, 1):
            path = attention_plot if len(plotted) == 1 else f"{stem}-{i}{ext}"
            plots.plot_attention(plots.attention_maps(translator, sentence, beam=beam), path)
            click.echo(f"attention plot: {path}", err=True)
    if failed:
        raise click.ClickException(f"{failed} of {total} lines could not be translated (see above)")


def _translate_line(translator, line, beam):
    """The translation of one input line ("" for a blank one); ValueError says why a line cannot be translated."""
    if isinstance(line, ValueError):
        raise line
    if not line.strip():
        return ""
    words = len(tokenize(line))
    if words > translator.max_source_tokens:
        raise ValueError(f"{words} tokens, more than the {translator.max_source_tokens} the model's positions hold")
    return translator.translate([line], beam=beam)[0]


def _checked_argument(sentence):
    """An argument as text, or a ValueError when it was not UTF-8 (Python keeps such bytes as surrogates)."""
    try:
        sentence.encode("utf-8")
    except UnicodeEncodeError:
        return ValueError("not valid UTF-8")
    return sentence


def _stdin_lines():
    """stdin's lines as text, one at a time as they arrive; a line that is not UTF-8 comes as a ValueError."""
    for raw in iter(sys.stdin.buffer.readline, b""):
        try:
            yield raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            yield ValueError(f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at position {e.start})")


@click.command()
@click.option("--checkpoint", "checkpoint_dir", required=True, type=Path(file_okay=False), help="A run directory.")
@click.option("--split", type=click.Choice(["test", "valid"]), default="test", show_default=True,
              help="Held-out split to score.")
@click.option("--beam", type=click.IntRange(1, 64), default=1, show_default=True, help="Beam size (1 = greedy).")
@click.option("--max-sentences", type=click.IntRange(1), default=None, help="Evaluate on the first N pairs only.  [default: all]")
@click.option("--device", type=click.Choice(backend.DEVICES), default=None,
              help="cpu (NumPy) or cuda (CuPy).  [default: the run's]")
@fail_cleanly
def evaluate(checkpoint_dir, split, beam, max_sentences, device):
    """Corpus BLEU on the run's test split, with sample translations."""
    require_device(device)
    trainer = Trainer.resume(checkpoint_dir, device=device, log=lambda *a: None)
    metrics = trainer.evaluate(split, max_sentences, beam=beam)
    click.echo(f"{split}: {metrics['detail']}")
    click.echo(f"{split}: loss {metrics['loss']:.3f}, exact match {100 * metrics['exact']:.1f}%")
    for src, ref, hyp in metrics["samples"]:
        click.echo(f"\n  source:    {detokenize(src)}\n  reference: {detokenize(ref)}\n  model:     {detokenize(hyp)}")
