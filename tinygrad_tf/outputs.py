"""The files the commands write for the user (pictures, pages, GIFs, exports): checked first, then written atomically.

    from tinygrad_tf import outputs
    with outputs.writing("curves.png") as tmp:
        figure.savefig(tmp)          # the old curves.png stays until this succeeds

An output is refused when it exists and is not a regular file (a device,
FIFO, socket or folder: renaming over it would destroy it) or when it is one
of a training run's own files (its checkpoint, arrays, log or lock).
"""
import contextlib

from . import atomic, rundir


def check(path):
    """Raise when `path` cannot be an output: not a regular file, or a file of a run (FileExistsError, RunDirError)."""
    atomic.require_replaceable(path)
    rundir.refuse_run_file(path)


@contextlib.contextmanager
def writing(path):
    """Check `path` (see `check`) and yield a temporary path beside it with the same extension.

    Write the whole file there; when the block ends without error it replaces
    `path`, and when it fails nothing is left and an older `path` is untouched.
    """
    check(path)
    with atomic.replacing(path) as tmp:
        yield tmp


def write_bytes(path, data):
    """Check `path` and write `data` to it atomically."""
    with writing(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def write_text(path, text):
    """Check `path` and write `text` to it atomically, as UTF-8."""
    write_bytes(path, text.encode("utf-8"))
