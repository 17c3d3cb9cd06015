"""`tinygrad-tf train`."""
import os
import signal
import sys

import click

from autograd import backend

from .. import checkpoint, rundir
from ..config import TASK_DEFAULTS, TrainConfig
from ..data import TASKS, TOKENIZER_KINDS, NoDataError
from ..interrupt import Interrupted
from ..optim import DECAYS
from ..train import Trainer
from .common import (
    FiniteFloatRange, Path, fail_cleanly, field_type, one_line, refuse_options, require_device, require_divisible,
    silence_stdout,
)

# What a resumed run may change; everything else is the checkpoint's.
RESUMABLE = ("steps", "epochs", "device", "eval_every", "max_minutes", "progress_every")


def _default(field):
    """"[default: X]", or the value per task where the tasks differ."""
    tasks_of = {}  # value -> the tasks with it as default
    for task in TASKS:
        tasks_of.setdefault(dict(TrainConfig().to_dict(), **TASK_DEFAULTS[task])[field], []).append(task)
    if len(tasks_of) == 1:
        (value,) = tasks_of
        return f"  [default: {'none' if value is None else value}]"
    return "  [default: " + ", ".join(f"{'/'.join(tasks)} {v}" for v, tasks in tasks_of.items()) + "]"


def _option(field, help, **kwargs):
    """A numeric option for the config field `field`, typed and ranged from config.LIMITS."""
    return click.option(f"--{field.replace('_', '-')}", type=field_type(field), default=None,
                        help=help + _default(field), **kwargs)


@click.command()
@click.option("--task", type=click.Choice(TASKS), default="spa-eng", show_default=True, help="What to learn.")
@click.option("--device", type=click.Choice(backend.DEVICES), default=None, help="cpu (NumPy) or cuda (CuPy).  [default: cpu]")
@click.option("--out", type=Path(file_okay=False), default=None,
              help="Run directory (one run each; refused if it holds one).  [default: runs/TASK]")
@click.option("--overwrite", is_flag=True, help="Replace the run already in --out (its checkpoint and log).")
@click.option("--resume", type=Path(file_okay=False), default=None,
              help="Continue the run saved in DIR; only --steps, --epochs, --device, --eval-every, --max-minutes "
                   "and --progress-every may change (other options may be given with the run's own values).")
@_option("steps", "Optimizer steps in all.")
@_option("epochs", "Stop after this many passes over the data (none: --steps decides).")
@_option("d_model", "Model width (divisible by --heads).")
@_option("heads", "Attention heads.")
@_option("layers", "Encoder and decoder layers (each).")
@_option("d_ff", "Hidden width of the feed-forward sublayers.")
@_option("dropout", "Dropout probability.")
@click.option("--norm-first/--norm-last", default=None,
              help="Pre-norm layers, or the paper's post-norm.  [default: --norm-last]")
@_option("batch_tokens", "Token budget of one batch (padded).")
@_option("warmup", "Warm-up steps of the Noam schedule.")
@_option("lr", "Factor of the Noam schedule.")
@click.option("--decay", type=click.Choice(DECAYS), default=None,
              help="How the rate falls after warm-up: linear (to nearly zero at the last step) or inverse_sqrt "
                   "(the paper's 1/sqrt(step))." + _default("decay"))
@_option("label_smoothing", "Label smoothing of the loss.")
@_option("seed", "Seed of the split, initial weights, batch order and dropout.")
@_option("max_pairs", "Use at most this many sentence pairs (copy/reverse: training pairs; none: all).")
@_option("max_len", "Drop pairs longer than this many tokens (copy/reverse: the longest sequence).")
@_option("min_freq", "Keep words seen at least this often in the training split (bpe: the least count of a merged pair).")
@click.option("--tokenizer", type=click.Choice(TOKENIZER_KINDS), default=None,
              help="word: words and punctuation, lower-cased. bpe: subwords learned on the training split "
                   "(the paper's byte-pair encoding), case kept.  [default: word]")
@click.option("--vocab-size", type=click.IntRange(16, 1_000_000), default=None,
              help=f"Vocabulary size of each BPE tokenizer (of the one, with --shared-vocab).  [default: {TrainConfig.vocab_size}]")
@click.option("--shared-vocab/--separate-vocab", default=None,
              help="One tokenizer and vocabulary learned from both languages.  [default: separate]")
@click.option("--tie-weights/--no-tie-weights", default=None,
              help="Source embedding, target embedding and output projection share one matrix, as in the paper "
                   "(needs --shared-vocab).  [default: no]")
@_option("eval_every", "Evaluate, log and checkpoint every N steps.")
@_option("max_minutes", "Stop (with an evaluation and a checkpoint) after this much wall time (none: no limit).")
@click.option("--progress-every", type=FiniteFloatRange(0.0, 86400.0), default=10.0, show_default=True,
              help="Seconds between progress lines when the output is not a terminal.")
@click.pass_context
@fail_cleanly
def train(ctx, task, out, resume, overwrite, progress_every, **options):
    """Train a Transformer and save checkpoints to --out.

    A run directory holds one run: checkpoint.json with its arrays, and
    log.jsonl. Ctrl-C or SIGTERM saves a checkpoint after the current step
    and exits non-zero; `--resume DIR` continues exactly where it stopped.
    """
    require_device(options["device"])
    if resume:
        trainer = _resumed(ctx, resume, dict(options, task=task, out=out, overwrite=overwrite))
    else:
        trainer = _new(task, out or f"runs/{task}", overwrite, options)
    _fit(trainer, not resume, overwrite, progress_every)


def _resumed(ctx, directory, options):
    if not checkpoint.exists(directory) and rundir.holds_run(directory):  # the log of a run whose first save failed
        raise click.ClickException(f"{directory} holds the log of a run that saved no checkpoint, so there is nothing "
                                   f"to resume; start it again with --out {directory} --overwrite")
    overrides = {k: options[k] for k in RESUMABLE if k in options}
    trainer = Trainer.resume(directory, log=click.echo, **overrides)
    _refuse_changed_settings(ctx, directory, trainer.config, options)
    if options["steps"] is not None and options["steps"] < trainer.step:
        raise click.BadParameter(f"{options['steps']} is below the step the run is at ({trainer.step})",
                                 param_hint="'--steps'")
    click.echo(f"resuming {directory} at step {trainer.step} of {trainer.config.steps}")
    return trainer


def _refuse_changed_settings(ctx, directory, config, options):
    """A usage error naming each option given with --resume whose value differs from the run's own.

    Repeating the command that started the run, with --resume added, is
    accepted: only a setting that would change (and cannot) is refused.
    """
    runs = dict(config.to_dict(), out=directory, overwrite=False)
    changed = []
    for param in ctx.command.params:
        name = param.name
        if name in RESUMABLE + ("resume",) or ctx.get_parameter_source(name).name != "COMMANDLINE":
            continue
        given, own = options[name], runs.get(name)
        same = (os.path.abspath(given) == os.path.abspath(own)) if name == "out" else given == own
        if not same:
            option = f"--{name.replace('_', '-')}"
            changed.append(f"{option} {_shown(given)} (the run's is {_shown(own)})" if name != "overwrite"
                           else f"{option} (the run is continued, not replaced)")
    if changed:
        raise click.UsageError(f"{'; '.join(changed)}: a resumed run keeps its own settings (only "
                               f"{', '.join('--' + n.replace('_', '-') for n in RESUMABLE)} may change)")


def _shown(value):
    """A setting as it is typed: none, true/false, or the value."""
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _new(task, out, overwrite, options):
    defaults = TrainConfig.for_task(task)
    d_model, heads = options["d_model"] or defaults.d_model, options["heads"] or defaults.heads
    require_divisible(d_model, heads)
    if (options["tokenizer"] or defaults.tokenizer) != "bpe":
        refuse_options("to the word tokenizer, whose vocabulary is every word seen (give --tokenizer bpe)", "vocab_size")
    rundir.check_new(out, overwrite)  # before the data is loaded
    try:
        config = TrainConfig.for_task(task, **options)
        trainer = Trainer(config, out=out, log=click.echo)
    except NoDataError as e:
        raise click.BadParameter(str(e), param_hint=f"'--{e.field.replace('_', '-')}'") from None
    click.echo(f"{config.task}: {len(trainer.train_pairs):,} training pairs, vocabularies of {len(trainer.src_vocab):,} "
               f"source and {len(trainer.tgt_vocab):,} target tokens, {trainer.model.num_parameters():,} parameters, "
               f"device {config.device}")
    return trainer


def _fit(trainer, new, overwrite, progress_every):
    """Lock the run directory, tidy it, train, and turn a signal into the shell's exit code."""
    out = trainer.out
    created = not os.path.exists(out)
    try:
        with rundir.RunLock(out, note=lambda line: click.echo(line, err=True)):
            if new and rundir.holds_run(out):
                if not overwrite:  # appeared since the first check: another process got there first
                    raise rundir.RunDirError(f"--out {out} already holds a run; use --resume {out} or a new --out")
                click.echo(f"--overwrite: the run in {out} ({rundir.describe(out)}) is replaced at this run's "
                           "first checkpoint")
                trainer.replaces_run = True
            removed = checkpoint.clean(out)
            if removed:
                click.echo(f"removed what an interrupted save left in {out}: {', '.join(removed)}", err=True)
            if trainer.step >= trainer.config.steps:
                click.echo(f"{out} is complete at step {trainer.step}; give --steps above {trainer.step} to train on")
                return
            _train(trainer, out, progress_every)
    finally:
        if created and os.path.isdir(out) and not os.listdir(out):
            os.rmdir(out)  # a new run that saved nothing leaves no empty folder behind
    if not checkpoint.exists(out) or trainer.replaces_run:  # stopped by --max-minutes before the first step
        kept = f"; the run in {out} is left as it was" if trainer.replaces_run else ""
        raise click.ClickException(f"--max-minutes ran out before the first step: nothing trained, nothing saved{kept}")
    click.echo(f"done: checkpoint in {out}")


def _train(trainer, out, progress_every):
    """`trainer.fit`, with a stop on a signal or closed output turned into the shell's exit code."""
    try:
        trainer.fit(progress=True, progress_every=progress_every)
    except Interrupted as e:
        if e.signum == signal.SIGPIPE:  # `train ... | head`: say it where it can still be read
            silence_stdout()
            saved = "checkpoint saved" if e.saved else "the last checkpoint kept"
            try:
                click.echo(f"output closed: stopped at step {e.step}, {saved}; continue with --resume {out}", err=True)
            except OSError:  # stderr went into the same closed pipe
                pass
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as e:  # a full disk, say: what is left, and the one way on
        if trainer.replaces_run:  # the older run's checkpoint is still the one in `out`
            way_on = "no checkpoint of this run was saved: free space, then run the same command again"
        elif checkpoint.exists(out):
            way_on = f"the last checkpoint ({rundir.describe(out)}) is kept: free space, then continue with --resume {out}"
        else:  # the first save failed: the log's rows would make `out` look like a run with nothing to resume
            rundir.remove_log(out)
            way_on = "no checkpoint was saved: free space, then run the same command again"
        raise click.ClickException(f"{one_line(e)}; {way_on}") from None
