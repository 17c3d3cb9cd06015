"""The `tinygrad-tf` command line (also `python -m tinygrad_tf`): one module per command, imported when it runs.

Starting is light: this module imports only click. A command's module (and
with it NumPy, the model, sacreBLEU, matplotlib...) is imported when that
command is chosen, and until then Ctrl-C ends the program quietly with the
shell's code 130 instead of a traceback from the middle of an import.
"""
import importlib
import os
import signal
import sys
import threading
import warnings

import click

from .. import __version__

# name -> (module under tinygrad_tf.cli, the one-line summary of the top-level help, which must fit in it)
COMMANDS = {
    "train": ("train", "Train a Transformer, saving checkpoints to a run folder."),
    "translate": ("translate", "Translate sentences with a trained run."),
    "evaluate": ("translate", "Score a run with sacreBLEU's BLEU and chrF."),
    "export": ("export", "Write a run's model as a PyTorch file."),
    "plot": ("plot", "Draw training curves or the positional encoding."),
    "step": ("step", "Walk the backward pass one node at a time."),
    "graph": ("graph", "Draw the computation graph of a small model."),
    "explore": ("explore", "Write an interactive page of the backward pass."),
    "tour": ("tour", "Draw the Transformer concept by concept."),
    "exercise": ("exercise", "Write a piece of the model yourself and check it."),
    "bench": ("bench", "Benchmark ops and training against PyTorch."),
}
INTERRUPTED = 130  # the shell's code for a program ended by Ctrl-C (128 + SIGINT)


def _interrupted_while_starting(signum, frame):
    """Ctrl-C before a command runs: nothing has been written yet, so end now, without a traceback."""
    try:
        sys.stderr.write("\ninterrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # stderr closed too
        pass
    os._exit(INTERRUPTED)


class LazyGroup(click.Group):
    """A click group whose commands are imported only when chosen (or when their own help is asked for)."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f".{COMMANDS[name][0]}", __name__)
        return getattr(module, name)

    def format_commands(self, ctx, formatter):
        """The top-level list, from COMMANDS' summaries: no command module is imported to show it."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])

    def main(self, *args, **kwargs):
        """Run the CLI with Ctrl-C ending it quietly until the chosen command starts (see `main`)."""
        starting = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, _interrupted_while_starting) if starting else None
        try:
            return super().main(*args, **kwargs)
        finally:
            if starting and signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
                signal.signal(signal.SIGINT, previous)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="tinygrad-tf")
def main():
    """An educational autograd engine and the Transformer built on it."""
    if signal.getsignal(signal.SIGINT) is _interrupted_while_starting:  # the command is imported: it runs now
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C is a KeyboardInterrupt it can handle
    _refuse_closed_output()
    # A command's output is its own lines and one-line errors. NumPy's warnings about our arrays (overflow
    # in a diverging run, which the trainer reports itself) and matplotlib's missing-glyph ones would print
    # source lines.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"(ops|autograd|tinygrad_tf)(\.|$)")
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from")


def _refuse_closed_output():
    """Started with stdout closed (`>&-`): nothing the command says could be read, so say that and stop."""
    if sys.stdout is None:
        raise click.ClickException("standard output is closed: nothing could be shown (to discard the output, "
                                   "send it to /dev/null instead)")
