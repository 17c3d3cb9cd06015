"""`tinygrad-tf train`."""
import sys

import click

from autograd import backend

from ..config import TrainConfig
from ..data import TASKS, TOKENIZER_KINDS
from ..train import Trainer
from .common import fail_cleanly


@click.command()
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
@click.option("--max-len", type=int, default=None, help="Drop pairs longer than this (words).")
@click.option("--tokenizer", type=click.Choice(TOKENIZER_KINDS), default=None,
              help="word: words and punctuation, lower-cased. bpe: subwords learned on the training split "
                   "(the paper's byte-pair encoding), case kept.  [default: word]")
@click.option("--vocab-size", type=click.IntRange(16), default=None,
              help=f"Vocabulary size of each BPE tokenizer (of the one, with --shared-vocab).  [default: {TrainConfig.vocab_size}]")
@click.option("--shared-vocab/--separate-vocab", default=None,
              help="One tokenizer and vocabulary learned from both languages.  [default: separate]")
@click.option("--tie-weights/--no-tie-weights", default=None,
              help="Source embedding, target embedding and output projection share one matrix, as in the paper "
                   "(needs --shared-vocab).  [default: no]")
@click.option("--eval-every", type=int, default=None, help="Evaluate and checkpoint every N steps.")
@click.option("--max-minutes", type=float, default=None, help="Stop after this much wall time.")
@click.option("--resume", type=click.Path(file_okay=False), default=None, help="Continue the run saved in DIR.")
@fail_cleanly
def train(task, out, resume, **options):
    """Train a Transformer and save checkpoints to --out."""
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
