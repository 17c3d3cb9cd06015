"""`tinygrad-tf exercise`: write a piece of the Transformer yourself, and have it checked."""
import os

import click

from ..exercises import EXERCISES, catalogue, hints, start as write_start
from .common import OutputFile, fail_cleanly

NAME = click.Choice(list(EXERCISES))


@click.group()
def exercise():
    """Write a piece of the Transformer yourself (a backward rule, attention, a mask, the positional
    table, an Adam step) and check it against the engine, op by op and inside a real model.

    \b
    tinygrad-tf exercise list
    tinygrad-tf exercise start softmax          # writes softmax.py: the math and a stub
    tinygrad-tf exercise check softmax softmax.py
    tinygrad-tf exercise hint softmax
    tinygrad-tf exercise solution softmax
    """


@exercise.command("list")
def list_exercises():
    """Name every exercise, with what it asks."""
    width = max(len(name) for name in EXERCISES)
    for e in EXERCISES.values():
        click.echo(f"{e.name:<{width}}  {e.summary}")


@exercise.command()
@click.argument("name", type=NAME)
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The folder to write NAME.py in (made if missing).")
@fail_cleanly
def start(name, directory):
    """Write DIR/NAME.py: the math to implement, the function's signature and a stub body. Never overwrites."""
    try:
        path = write_start(name, directory)
    except FileExistsError as e:
        raise click.ClickException(str(e)) from None
    function = catalogue.get(name).function
    click.echo(f"wrote {path}: write the body of {function}(), then run\n"
               f"  tinygrad-tf exercise check {name} {path}")


@exercise.command()
@click.argument("name", type=NAME)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--explore", type=OutputFile("html", "htm"), default=None, metavar="PAGE.html",
              help="Also write the explorer page of your run in the model, opened at the first wrong node.")
@fail_cleanly
def check(name, file, explore):
    """Check FILE's answer to exercise NAME: beside the engine at small and odd shapes, against finite
    differences, and inside a Transformer in place of the op. Exits 0 when every check passes, 1 otherwise."""
    from ..exercises import check as grade

    report = grade(name, file, explore=explore)
    click.echo(report.text())
    raise SystemExit(0 if report.passed else 1)


@exercise.command()
@click.argument("name", type=NAME)
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False, exists=True),
              help="The folder you work in (where the hints shown so far are remembered).")
@fail_cleanly
def hint(name, directory):
    """Show the next hint for exercise NAME."""
    number, count, text = hints.next_hint(name, directory)
    click.echo(f"hint {number} of {count}: {text}")
    if number == count:
        click.echo(f"(that is the last one; `tinygrad-tf exercise solution {name}` prints a solution)")


@exercise.command()
@click.argument("name", type=NAME)
def solution(name):
    """Print a reference solution of exercise NAME."""
    click.echo(catalogue.get(name).solution, nl=False)
