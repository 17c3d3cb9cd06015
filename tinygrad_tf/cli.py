"""The `tinygrad-tf` command line (also `python -m tinygrad_tf`)."""
import sys

import click

from autograd import backend

from .checkpoint import CheckpointError
from .data import TASKS


def _fail_cleanly(fn):
    """Turn the library's expected errors into one-line CLI errors instead of tracebacks."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (CheckpointError, ValueError, RuntimeError, OSError) as e:
            raise click.ClickException(str(e)) from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """An educational autograd engine and the Transformer built on it."""


@main.command()
@click.option("--task", type=click.Choice(TASKS), default="spa-eng", show_default=True, help="What to learn.")
@click.option("--device", type=click.Choice(backend.DEVICES), default=None, help="cpu (NumPy) or cuda (CuPy).  [default: cpu]")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Run directory.  [default: runs/TASK]")
@click.option("--steps", type=int, default=None, help="Optimizer steps in all.")
@click.option("--epochs", type=int, default=None, help="Stop after this many passes over the data.")
@click.option("--d-model", type=int, default=None)
@click.option("--heads", type=int, default=None)
@click.option("--layers", type=int, default=None, help="Encoder and decoder layers (each).")
@click.option("--d-ff", type=int, default=None)
@click.option("--dropout", type=float, default=None)
@click.option("--norm-first/--norm-last", default=None, help="Pre-norm layers instead of the paper's post-norm.")
@click.option("--batch-tokens", type=int, default=None, help="Token budget of one batch.")
@click.option("--warmup", type=int, default=None, help="Warm-up steps of the Noam schedule.")
@click.option("--lr", type=float, default=None, help="Factor of the Noam schedule.")
@click.option("--label-smoothing", type=float, default=None)
@click.option("--seed", type=int, default=None)
@click.option("--max-pairs", type=int, default=None, help="Use at most this many sentence pairs.")
@click.option("--max-len", type=int, default=None, help="Drop pairs longer than this (tokens).")
@click.option("--eval-every", type=int, default=None, help="Evaluate and checkpoint every N steps.")
@click.option("--max-minutes", type=float, default=None, help="Stop after this much wall time.")
@click.option("--resume", type=click.Path(file_okay=False), default=None, help="Continue the run saved in DIR.")
@_fail_cleanly
def train(task, out, resume, **options):
    """Train a Transformer and save checkpoints to --out."""
    from .config import TrainConfig
    from .train import Trainer

    if resume:
        trainer = Trainer.resume(resume, steps=options["steps"], epochs=options["epochs"], device=options["device"],
                                 eval_every=options["eval_every"], max_minutes=options["max_minutes"])
        click.echo(f"resuming {resume} at step {trainer.step} of {trainer.config.steps}")
    else:
        config = TrainConfig.for_task(task, **options)
        trainer = Trainer(config, out=out or f"runs/{task}")
        click.echo(f"{trainer.config.task}: {len(trainer.train_pairs)} training pairs, vocab "
                   f"{len(trainer.src_vocab)} -> {len(trainer.tgt_vocab)}, "
                   f"{trainer.model.num_parameters():,} parameters, device {trainer.config.device}")
    try:
        trainer.fit(progress=True)
    except KeyboardInterrupt:
        sys.exit(130)
    click.echo(f"done: checkpoint in {trainer.out}")


@main.command()
@click.option("--checkpoint", "checkpoint_dir", required=True, type=click.Path(file_okay=False), help="A run directory.")
@click.option("--beam", type=click.IntRange(1, 64), default=1, show_default=True, help="Beam size (1 = greedy).")
@click.option("--device", type=click.Choice(backend.DEVICES), default=None)
@click.argument("sentences", nargs=-1)
@_fail_cleanly
def translate(checkpoint_dir, beam, device, sentences):
    """Translate SENTENCES (or one sentence per line on stdin), one output line each."""
    from .train import load_translator

    if not sentences:
        sentences = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    translator = load_translator(checkpoint_dir, device)
    for line in translator.translate(list(sentences), beam=beam):
        click.echo(line)


@main.command()
@click.option("--checkpoint", "checkpoint_dir", required=True, type=click.Path(file_okay=False), help="A run directory.")
@click.option("--split", type=click.Choice(["test", "valid"]), default="test", show_default=True)
@click.option("--beam", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("--max-sentences", type=int, default=None, help="Evaluate on the first N pairs only.")
@click.option("--device", type=click.Choice(backend.DEVICES), default=None)
@_fail_cleanly
def evaluate(checkpoint_dir, split, beam, max_sentences, device):
    """Corpus BLEU on the run's test split, with sample translations."""
    from .data import detokenize
    from .train import Trainer

    trainer = Trainer.resume(checkpoint_dir, device=device, log=lambda *a: None)
    metrics = trainer.evaluate(split, max_sentences, beam=beam)
    click.echo(f"{split}: {metrics['detail']}")
    click.echo(f"{split}: loss {metrics['loss']:.3f}, exact match {100 * metrics['exact']:.1f}%")
    for src, ref, hyp in metrics["samples"]:
        click.echo(f"\n  source:    {detokenize(src)}\n  reference: {detokenize(ref)}\n  model:     {detokenize(hyp)}")
