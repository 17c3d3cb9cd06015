"""Checkpoints: arrays in `checkpoint.npz`, everything else in `checkpoint.json`.

Both files are written to a temporary name and renamed into place, so a crash
never leaves a half-written checkpoint; the JSON records the SHA-256 of the
.npz it belongs to, so a truncated, corrupt or mismatched pair is detected on
load and reported with the file's name.
"""
import hashlib
import io
import json
import os
import zipfile

import numpy as np

ARRAYS, META = "checkpoint.npz", "checkpoint.json"


class CheckpointError(Exception):
    """A checkpoint is missing, corrupt, or does not fit the model."""


def _atomic_write(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(directory, arrays, meta):
    """Write `arrays` (name -> NumPy array) and `meta` (JSON-able dict) into `directory`."""
    os.makedirs(directory, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    blob = buffer.getvalue()
    meta = dict(meta, arrays_sha256=hashlib.sha256(blob).hexdigest())
    _atomic_write(os.path.join(directory, ARRAYS), blob)
    _atomic_write(os.path.join(directory, META), json.dumps(meta, indent=1, ensure_ascii=False).encode("utf-8"))


def exists(directory):
    return os.path.exists(os.path.join(directory, META))


def load(directory):
    """Read a checkpoint written by `save`: returns (arrays, meta).

    Raises:
        CheckpointError: naming the file that is missing, unreadable or inconsistent.
    """
    meta_path, arrays_path = os.path.join(directory, META), os.path.join(directory, ARRAYS)
    for path in (meta_path, arrays_path):
        if not os.path.exists(path):
            raise CheckpointError(f"no checkpoint: {path} does not exist")
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint metadata {meta_path} is corrupt or truncated ({e})") from None
    with open(arrays_path, "rb") as f:
        blob = f.read()
    if hashlib.sha256(blob).hexdigest() != meta.get("arrays_sha256"):
        raise CheckpointError(f"checkpoint arrays {arrays_path} are corrupt, truncated, or from another save than {meta_path}")
    try:
        with np.load(io.BytesIO(blob)) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"checkpoint arrays {arrays_path} cannot be read ({e})") from None
    return arrays, meta
