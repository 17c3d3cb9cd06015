"""Writing a file whole or not at all: a temporary file in the same folder, fsync, then a rename over the target.

A reader (or a crash, or a full disk) sees the old file or the new one, never
a part. The rename replaces only a regular file: a device such as /dev/null,
a FIFO, a socket or a folder at the target is refused, since renaming over it
would destroy it (as root, /dev/null itself).
"""
import contextlib
import os
import re
import stat

_TEMPORARY = re.compile(r"(?P<name>.+)\.tmp-\d+(\.[A-Za-z0-9]+)?")


def temporary_name(path):
    """The temporary file `path` is written to first: `out.png` -> `out.png.tmp-<pid>.png` (same folder, same extension).

    The extension stays last because the writers (matplotlib, Pillow, Graphviz) choose the format from it.
    """
    return f"{path}.tmp-{os.getpid()}{os.path.splitext(path)[1]}"


def target_of_temporary(name):
    """The name a temporary file left by an interrupted write was meant to become, or None for any other name."""
    match = _TEMPORARY.fullmatch(name)
    return match.group("name") if match else None


def require_replaceable(path):
    """Raise IsADirectoryError or FileExistsError when `path` exists and is not a regular file.

    Symbolic links are followed: a link to a regular file is replaced by the
    new file, a link to a device is refused like the device.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as e:
        raise OSError(e.errno, e.strerror, path) from None
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"{path} is a folder: give the name of a file to write")
    kind = ("a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise FileExistsError(f"{path} is {kind}: only a regular file is ever replaced; choose another name")


@contextlib.contextmanager
def replacing(path):
    """Yield a temporary path to write; when the block ends without error it replaces `path`.

    The temporary file is fsynced before the rename, and removed when the
    block fails (a full disk, an interrupt), so the old `path` stays as it was.

    Raises:
        IsADirectoryError, FileExistsError: `path` exists and is not a regular file.
    """
    path = os.fspath(path)
    require_replaceable(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        if not os.path.isfile(tmp):
            raise FileNotFoundError(f"{path} was not written")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        require_replaceable(path)  # again: the target may have changed while the file was being made
        os.replace(tmp, path)
    except OSError as e:
        if e.filename is None and e.strerror:  # a write's error ("No space left on device") names no file: name it
            raise OSError(e.errno, e.strerror, path) from None
        raise
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


def write_bytes(path, data):
    """Write `data` to `path` atomically (see `replacing`)."""
    with replacing(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
