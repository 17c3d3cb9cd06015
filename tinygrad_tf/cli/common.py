"""Helpers shared by the command modules: one-line errors and the option types of config fields."""
import functools
import math
import os
import sys

import click

from .. import outputs
from ..checkpoint import CheckpointError
from ..config import LIMITS
from ..rundir import RunDirError

TRACEBACK_ENV = "TINYGRAD_TF_TRACEBACK"  # set to 1 to see the traceback of an unexpected error


def fail_cleanly(fn):
    """Turn errors into one-line CLI errors instead of tracebacks.

    The library's expected errors (bad checkpoint, bad value, missing file,
    no GPU) become `Error: <message>`; anything else is an internal error,
    shown as one line with the hint to set TINYGRAD_TF_TRACEBACK=1.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:  # `... | head`: the reader is gone, nothing left to say
            silence_stdout()
            sys.exit(1)
        except KeyboardInterrupt:  # Ctrl-C outside training's own handling: the shell's code, no traceback
            click.echo("\ninterrupted", err=True)
            sys.exit(130)
        except MemoryError:
            raise click.ClickException("out of memory: choose smaller sizes") from None
        except (CheckpointError, RunDirError, ValueError, RuntimeError, OSError) as e:
            raise click.ClickException(one_line(e)) from None
        except Exception as e:
            if os.environ.get(TRACEBACK_ENV):
                raise
            raise click.ClickException(f"internal error: {type(e).__name__}: {one_line(e)} "
                                       f"(set {TRACEBACK_ENV}=1 to see the traceback)") from None

    return wrapper


def one_line(error):
    """An error as one line; an OSError as "FILE: reason" rather than "[Errno N] ..."."""
    if isinstance(error, OSError) and error.strerror:  # not "[Errno 28] ..."
        reason = f"{error.strerror[0].lower()}{error.strerror[1:]}"
        if error.filename is None:
            return reason
        names = f"{error.filename} -> {error.filename2}" if error.filename2 is not None else f"{error.filename}"
        return f"{names}: {reason}"
    return " ".join(str(error).split()) or type(error).__name__


def silence_stdout():
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class Text(click.ParamType):
    """Text that must be valid UTF-8 (Python keeps the bytes of other text as surrogates that nothing can draw)."""

    name = "text"

    def convert(self, value, param, ctx):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            self.fail(f"{value.encode('utf-8', 'surrogateescape')!r} is not valid UTF-8 text "
                      f"(byte {e.start + 1} cannot be read)", param, ctx)
        return value


TEXT = Text()


class FiniteFloatRange(click.FloatRange):
    """A float range that also refuses nan and inf (plain FloatRange lets nan through every bound)."""

    name = "float range"

    def convert(self, value, param, ctx):
        rv = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(rv, param, ctx)


class Path(click.Path):
    """click.Path that also refuses an empty name (which would otherwise mean the current directory or a file "")."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("an empty name is not a path.", param, ctx)
        return super().convert(value, param, ctx)


class OutputFile(Path):
    """A file to write, checked before any work: its folder exists, it is no folder itself, and its extension fits.

    Args:
        extensions: the allowed extensions without the dot (any when none are given).
        bare: the extension a name without one is written with (None: the name must have one of `extensions`).
    """

    def __init__(self, *extensions, bare=None):
        super().__init__(dir_okay=False)
        self.extensions, self.bare = extensions, bare

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if not os.path.basename(value):
            self.fail(f"{value} names a folder: give a file name", param, ctx)
        folder = os.path.dirname(value) or os.curdir  # as written: "afile/../x.png" goes through the file afile
        if not os.path.isdir(folder):
            blocked = folder  # the nearest part of the path, going up, that exists: is it a file?
            while blocked and not os.path.exists(blocked):
                blocked = os.path.dirname(blocked.rstrip(os.sep))
            self.fail(f"cannot write {value}: {blocked} is a file, not a folder" if blocked and os.path.isfile(blocked)
                      else f"cannot write {value}: the folder {folder} does not exist", param, ctx)
        ext = os.path.splitext(value)[1][1:].lower()
        if self.extensions and ext not in self.extensions and not (self.bare and not ext):
            names = [f".{e}" for e in self.extensions]
            listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" or {names[-1]}"
            self.fail(f"{value} should end in {listed}", param, ctx)
        try:
            outputs.check(value)  # a device named without an extension is refused too, not written beside
            outputs.check(self.written_as(value))
        except (OSError, RunDirError) as e:
            self.fail(str(e), param, ctx)
        return value

    def written_as(self, value):
        """The file a checked name is written to: with the `bare` extension added when it has none."""
        return f"{value}.{self.bare}" if self.bare and not os.path.splitext(value)[1] else value


PICTURE = OutputFile("png", "svg", "pdf", "jpg", "jpeg", bare="png")  # what matplotlib's plots are written as
GIF = OutputFile("gif", bare="gif")


def field_type(name):
    """The click type of the config field `name`, built from its range in `config.LIMITS`."""
    low, high, low_open = LIMITS[name]
    if isinstance(low, int):
        return click.IntRange(low, high)
    return FiniteFloatRange(low, high, min_open=low_open, max_open=name == "dropout")


def require_device(device):
    """Fail now, before any work, when `device` cannot be used (e.g. "cuda" without CuPy)."""
    if device and device != "cpu":
        from autograd import backend

        backend.xp_for(device)  # raises RuntimeError with the install hint


def require_divisible(d_model, heads):
    """A one-line error naming --heads when the heads cannot split --d-model evenly."""
    if d_model % heads:
        raise click.BadParameter(f"--d-model {d_model} is not divisible by --heads {heads}", param_hint="'--heads'")


def refuse_options(reason, *names):
    """A usage error naming those of the options `names` given on the command line: here they would do nothing.

    Args:
        reason: the end of the sentence, e.g. "to the mlp (it has no attention heads)".
        names: the options' parameter names ("vocab_size" for --vocab-size).
    """
    ctx = click.get_current_context()
    given = [f"--{name.replace('_', '-')}" for name in names
             if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
    if given:
        raise click.UsageError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply {reason}")


def refuse_sizes_the_model_lacks(model):
    """A usage error for --layers given for anything but the transformer, or --heads given for the mlp."""
    if model != "transformer":
        refuse_options(f"to {model}: only the transformer has a number of layers to choose", "layers")
    if model == "mlp":
        refuse_options("to the mlp: it has no attention heads", "heads")


def refuse_sizes_with_checkpoint(**sizes):
    """A usage error naming the size options given (not None) beside --checkpoint, whose sizes are its own."""
    given = [f"--{name.replace('_', '-')}" for name, value in sizes.items() if value is not None]
    if given:
        raise click.UsageError(f"{', '.join(given)} cannot be used with --checkpoint: the sizes come from the checkpoint")
