"""`start(name, directory)`: write the learner's file to fill in."""
import os
import tempfile

from . import catalogue


def start(name, directory="."):
    """Write `directory/NAME.py`: the exercise's math, its function's signature and a stub body.

    Returns:
        The path written.

    Raises:
        KeyError: there is no exercise `name`.
        FileExistsError: the file is there already (it is never overwritten).
    """
    exercise = catalogue.get(name)
    path = os.path.join(directory, f"{name}.py")
    if os.path.exists(path):
        raise FileExistsError(f"{path} exists already; it is never overwritten (check it with "
                              f"`tinygrad-tf exercise check {name} {path}`, or start in another --dir)")
    os.makedirs(directory or ".", exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory or ".", prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(exercise.template)
        try:
            os.link(temporary, path)  # all at once, and it fails if the file appeared meanwhile: never overwrites
        except FileExistsError:
            raise FileExistsError(f"{path} exists already; it is never overwritten") from None
        except OSError:  # a file system without hard links: create it exclusively, then fill it
            with open(path, "x", encoding="utf-8") as f:
                f.write(exercise.template)
    finally:
        os.unlink(temporary)
    return path
