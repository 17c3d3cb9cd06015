"""The `tinygrad-tf` command line (also `python -m tinygrad_tf`): one module per command."""
import warnings

import click

from .bench import bench
from .exercise import exercise
from .explore import explore
from .export import export
from .graph import graph
from .plot import plot
from .step import step
from .tour import tour
from .train import train
from .translate import evaluate, translate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """An educational autograd engine and the Transformer built on it."""
    # A command's output is its own lines and one-line errors. NumPy's warnings about our arrays (overflow
    # in a diverging run, which the trainer reports itself) and matplotlib's missing-glyph ones would print
    # source lines.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"(ops|autograd|tinygrad_tf)(\.|$)")
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from")


for command in (train, translate, evaluate, export, plot, step, graph, explore, tour, exercise, bench):
    main.add_command(command)
