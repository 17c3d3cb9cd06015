"""Helpers shared by the command modules."""
import functools

import click

from ..checkpoint import CheckpointError


def fail_cleanly(fn):
    """Turn the library's expected errors into one-line CLI errors instead of tracebacks."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (CheckpointError, ValueError, RuntimeError, OSError) as e:
            raise click.ClickException(str(e)) from None

    return wrapper
