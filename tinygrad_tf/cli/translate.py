"""`tinygrad-tf translate` and `tinygrad-tf evaluate`."""
import os
import sys
import time

import click

import ops
from autograd import backend

from ..rundir import LOG, append_log
from ..train import Trainer, load_translator
from .common import PICTURE, Path, fail_cleanly, require_device


@click.command()
@click.option("--checkpoint", "checkpoint_dir", required=True, type=Path(file_okay=False), help="A run directory.")
@click.option("--beam", type=click.IntRange(1, 64), default=1, show_default=True, help="Beam size (1 = greedy).")
@click.option("--device", type=click.Choice(backend.DEVICES), default=None,
              help="cpu (NumPy) or cuda (CuPy).  [default: the run's]")
@click.option("--attention-plot", type=PICTURE, default=None,
              help="Also draw every layer's and head's attention to FILE (matplotlib). With several sentences, "
                   "one file each, numbered from 1: out.png -> out-1.png, out-2.png, ...")
@click.option("--show-steps", type=click.IntRange(1, 100), default=None, metavar="K",
              help="After each translation, list every output step's K most probable tokens with probabilities.")
@click.argument("sentences", nargs=-1)
@fail_cleanly
def translate(checkpoint_dir, beam, device, attention_plot, show_steps, sentences):
    """Translate SENTENCES (or one sentence per line on stdin), one output line each.

    Each line is written as soon as it is translated. A blank input line
    gives a blank output line, and so does a line that cannot be translated
    (not UTF-8, or longer than the model's positions): that is reported on
    stderr, the other lines are still translated, and the exit status is 1.
    With --show-steps, each translation is followed by one indented line per
    output step. A sentence that starts with "-" goes after "--", as in
    `tinygrad-tf translate --checkpoint runs/copy -- "-1 2"`.
    """
    if attention_plot:
        from .. import plots

        plots.require_matplotlib()  # before any work
    require_device(device)
    ops.fast.enable()  # translating runs the ops' fast forms, as training does
    translator = load_translator(checkpoint_dir, device)
    if sentences:
        lines = [_checked_argument(s) for s in sentences]
    else:
        if sys.stdin is None:  # started with `<&-`
            raise click.ClickException("no SENTENCES given and standard input is closed: give the sentences as "
                                       "arguments, or one per line on standard input")
        if sys.stdin.isatty():
            click.echo("reading sentences from stdin, one per line (end with Ctrl-D)", err=True)
        lines = _stdin_lines()
    failed, total, plotted = 0, 0, []
    for number, line in enumerate(lines, 1):
        total += 1
        translated = True  # a line read and decoded, its translation maybe empty (<eos> first)
        try:
            text = _translate_line(translator, line, beam)
            translated = bool(line.strip())
        except ValueError as e:
            failed += 1
            click.echo(f"line {number}: {e}; left untranslated", err=True)
            text, translated = "", False
        click.echo(text)
        if show_steps and translated:  # an empty translation too: its one step shows why <eos> won
            _echo_steps(translator.step_candidates(line, show_steps, beam=beam))
        sys.stdout.flush()
        if attention_plot and text:
            plotted.append(line)
        elif attention_plot and translated:
            click.echo(f"line {number}: the translation is empty, so it has no attention plot", err=True)
    if attention_plot:
        stem, ext = os.path.splitext(PICTURE.written_as(attention_plot))
        for i, sentence in enumerate(plotted, 1):
            path = f"{stem}{ext}" if len(plotted) == 1 else f"{stem}-{i}{ext}"
            path = plots.plot_attention(plots.attention_maps(translator, sentence, beam=beam), path)
            click.echo(f"attention plot: {path}", err=True)
        if not plotted and not failed:
            raise click.ClickException(f"no attention plot written to {attention_plot}: no sentence was translated "
                                       "into any words")
    if failed:
        raise click.ClickException(f"{failed} of {total} lines could not be translated (see above)")


def _translate_line(translator, line, beam):
    """The translation of one input line ("" for a blank one); ValueError says why a line cannot be translated."""
    if isinstance(line, ValueError):
        raise line
    if not line.strip():
        return ""
    return translator.translate([line], beam=beam)[0]  # a line too long for the positions is a ValueError


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


def _echo_steps(steps):
    """One indented line per output step: the chosen token, then the top tokens with probabilities."""
    for number, (chosen, candidates) in enumerate(steps, 1):
        listed = "  ".join(f"{token} {p:.3f}" for token, p in candidates)
        click.echo(f"  step {number:>2}: {chosen:<12} | {listed}")


def _beam_sizes(ctx, param, value):
    """--beam "1,4" -> (1, 4): each a beam size from 1 (greedy) to 64, in the order given, no repeats."""
    try:
        sizes = [int(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of beam sizes, e.g. 1,4") from None
    if any(not 1 <= b <= 64 for b in sizes):
        raise click.BadParameter(f"{value!r}: a beam size is from 1 (greedy) to 64")
    if len(set(sizes)) != len(sizes):
        raise click.BadParameter(f"{value!r}: each beam size once")
    return tuple(sizes)


def _decoder_name(beam):
    return "greedy" if beam == 1 else f"beam {beam}"


@click.command()
@click.option("--checkpoint", "checkpoint_dir", required=True, type=Path(file_okay=False), help="A run directory.")
@click.option("--split", type=click.Choice(["test", "valid"]), default="test", show_default=True,
              help="Held-out split to score.")
@click.option("--beam", "beams", default="1", show_default=True, callback=_beam_sizes,
              help="Beam size, or several side by side: 1,4 scores greedy and beam 4.")
@click.option("--max-sentences", type=click.IntRange(1), default=None, help="Evaluate on the first N pairs only.  [default: all]")
@click.option("--device", type=click.Choice(backend.DEVICES), default=None,
              help="cpu (NumPy) or cuda (CuPy).  [default: the run's]")
@click.option("--no-cache", is_flag=True, help="Decode without the key/value cache (same output, slower).")
@fail_cleanly
def evaluate(checkpoint_dir, split, beams, max_sentences, device, no_cache):
    """sacreBLEU's BLEU and chrF on the run's test split, with sample translations.

    The scores and sacreBLEU's signatures are also appended to the run's log.jsonl.
    """
    require_device(device)
    trainer = Trainer.resume(checkpoint_dir, device=device, log=lambda *a: None)
    results = {b: trainer.evaluate(split, max_sentences, beam=b, use_cache=not no_cache, loss=(i == 0))
               for i, b in enumerate(beams)}
    first = results[beams[0]]
    click.echo(f"{split}: {first['sentences']} sentences, loss {first['loss']:.3f} per token (teacher-forced)")
    click.echo(f"{'decoder':<10}{'BLEU':>7}{'chrF':>7}{'exact':>8}{'time':>9}")
    for b, m in results.items():
        click.echo(f"{_decoder_name(b):<10}{m['bleu']:>7.2f}{m['chrf']:>7.2f}{100 * m['exact']:>7.1f}%{m['seconds']:>8.1f}s")
    click.echo(f"sacreBLEU BLEU signature: {first['scores'].bleu_signature}")
    click.echo(f"sacreBLEU chrF signature: {first['scores'].chrf_signature}")
    for b, m in results.items():
        click.echo(f"{_decoder_name(b)}: {m['detail']}")
    width = max(len("reference"), *(len(_decoder_name(b)) for b in beams)) + 1
    for i, (src, ref, _) in enumerate(first["samples"]):
        click.echo(f"\n  {'source:':<{width}} {src}\n  {'reference:':<{width}} {ref}")
        for b, m in results.items():
            label = "model:" if len(beams) == 1 else f"{_decoder_name(b)}:"
            click.echo(f"  {label:<{width}} {m['samples'][i][2]}")
    _log_scores(checkpoint_dir, trainer.step, split, results, use_cache=not no_cache)


def _log_scores(checkpoint_dir, step, split, results, use_cache):
    """Append one record per decoder to the run's log.jsonl; a log that cannot be written only warns."""
    try:
        for beam, m in results.items():
            append_log(checkpoint_dir, dict(
                event="evaluate", step=step, split=split, beam=beam, sentences=m["sentences"],
                bleu=round(m["bleu"], 2), chrf=round(m["chrf"], 2), exact=round(m["exact"], 4),
                bleu_signature=m["scores"].bleu_signature, chrf_signature=m["scores"].chrf_signature,
                kv_cache=use_cache, seconds=round(m["seconds"], 2), time=time.time()))
    except OSError as e:
        click.echo(f"warning: scores not logged: cannot write to {os.path.join(checkpoint_dir, LOG)} ({e.strerror})", err=True)
        return
    click.echo(f"\nscores appended to {os.path.join(checkpoint_dir, LOG)}", err=True)
