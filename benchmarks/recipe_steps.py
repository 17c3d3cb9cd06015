"""The time of one training step of several spa-eng recipes, against the paper's recipe, in one process.

Each recipe's trainer is built once; then they take turns, a few steps each,
for several rounds, so that a machine that speeds up or slows down meanwhile
does so for all of them alike. Prints the median step time of each and its
ratio to the first recipe's (the work column of `main_job_recipes.md`):

    python benchmarks/recipe_steps.py                      # the paper's recipe against the main job's
    python benchmarks/recipe_steps.py --recipe "batch_tokens=800,min_freq=3,dropout=0"
    TINYGRAD_TF_COMPILED=0 python benchmarks/recipe_steps.py   # the README install (no compiled loops)

Run it on an idle machine (`/proc/pressure/cpu` near 0).
"""
import dataclasses
import time

import click
import numpy as np

from autograd import allocator
from tinygrad_tf.config import TrainConfig
from tinygrad_tf.train import Trainer

PAPER = "batch_tokens=1600,min_freq=2,dropout=0.1,decay=inverse_sqrt,steps=1800"
MAIN_JOB = "batch_tokens=800,min_freq=4,dropout=0.0,decay=linear,steps=2100"


def parse_recipe(text):
    """ "name=value,..." -> TrainConfig overrides, each value of its field's declared type."""
    kinds = {field.name: field.type for field in dataclasses.fields(TrainConfig)}
    overrides = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        if name not in kinds or not value:
            raise click.BadParameter(f"{item!r}: expected FIELD=VALUE with a TrainConfig field")
        kind = kinds[name]
        try:
            overrides[name] = {"True": True, "False": False}[value] if kind is bool else kind(value)
        except (KeyError, ValueError):
            raise click.BadParameter(f"{item!r}: {name} takes a value of type {kind.__name__}") from None
    return overrides


@click.command()
@click.option("--recipe", "recipes", multiple=True, help="FIELD=VALUE,... (repeatable); the paper's recipe always runs first.")
@click.option("--rounds", type=click.IntRange(3, 1000), default=12, show_default=True)
@click.option("--steps", type=click.IntRange(1, 1000), default=5, show_default=True, help="Steps per recipe per round.")
def main(recipes, rounds, steps):
    recipes = (PAPER,) + (recipes or (MAIN_JOB,))
    trainers = [Trainer(TrainConfig.for_task("spa-eng", **parse_recipe(r)), log=lambda *a, **k: None) for r in recipes]
    batches = [iter(t.batches()) for t in trainers]
    allocator.keep_freed_memory()  # as Trainer.fit does
    times = [[] for _ in recipes]
    for _ in range(rounds):
        for trainer, batch_source, seconds in zip(trainers, batches, times):
            for _ in range(steps):
                batch = next(batch_source)
                started = time.perf_counter()
                float(trainer.train_step(batch).item())
                seconds.append(time.perf_counter() - started)
    skip = 2 * steps  # the first rounds warm caches and compile loops
    medians = [float(np.median(s[skip:])) for s in times]
    for recipe, median in zip(recipes, medians):
        click.echo(f"{median * 1000:7.1f} ms a step, {median / medians[0]:.3f} of the paper's   {recipe}")


if __name__ == "__main__":
    main()
