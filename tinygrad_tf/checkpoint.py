"""Checkpoints: arrays in `checkpoint-<hash>.npz`, everything else in `checkpoint.json`.

Both files are written to a temporary name and renamed into place. The .npz
is named after its content and the JSON, written last, names it: until the
JSON is replaced the previous pair is intact, so a crash at any point never
leaves a half-written checkpoint. The JSON records the SHA-256 of its .npz, so
a truncated, corrupt or mismatched pair is detected on load and reported with
the file's name; it also records the SHA-256 of its own content, so an edited
field (a step, a learning rate) is refused as well.
"""
import hashlib
import io
import json
import os
import re
import zipfile

import numpy as np

from .atomic import target_of_temporary, write_bytes

ARRAYS, META = "checkpoint.npz", "checkpoint.json"  # ARRAYS: the arrays' name in older checkpoints
_ARRAYS_NAME = re.compile(r"checkpoint(-[0-9a-f]{16})?\.npz")
_RUN_FILE_NAME = re.compile(r"checkpoint(-[0-9a-f]{16})?\.npz|checkpoint\.json|log\.jsonl")  # what a save rewrites


class CheckpointError(Exception):
    """A checkpoint is missing, corrupt, or does not fit the model."""


def save(directory, arrays, meta):
    """Write `arrays` (name -> NumPy array) and `meta` (JSON-able dict) into `directory`."""
    os.makedirs(directory, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    blob = buffer.getvalue()
    digest = hashlib.sha256(blob).hexdigest()
    name = f"checkpoint-{digest[:16]}.npz"
    meta = dict(meta, arrays_file=name, arrays_sha256=digest)
    meta["meta_sha256"] = meta_digest(meta)
    write_bytes(os.path.join(directory, name), blob)
    write_bytes(os.path.join(directory, META), json.dumps(meta, indent=1, ensure_ascii=False).encode("utf-8"))
    for old in os.listdir(directory):  # the arrays of earlier saves, no longer named by the JSON
        if old != name and _ARRAYS_NAME.fullmatch(old):
            os.remove(os.path.join(directory, old))


def meta_digest(meta):
    """SHA-256 of the metadata's content (every field but "meta_sha256" itself, keys sorted): a changed byte shows."""
    fields = {k: v for k, v in meta.items() if k != "meta_sha256"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def clean(directory):
    """Remove what an interrupted save left behind: temporary files and arrays the JSON does not name.

    Call it only while no other process saves into `directory` (the run's lock
    held). Returns the names removed.
    """
    if not os.path.isdir(directory):
        return []
    named = None
    try:
        with open(os.path.join(directory, META), encoding="utf-8") as f:
            named = json.load(f).get("arrays_file", ARRAYS)
    except (OSError, ValueError, AttributeError):
        pass  # no readable JSON: keep every arrays file, `load` will report the problem
    removed = []
    for name in sorted(os.listdir(directory)):
        orphan = named is not None and _ARRAYS_NAME.fullmatch(name) and name != named
        temporary = _RUN_FILE_NAME.fullmatch(target_of_temporary(name) or "")
        if temporary or orphan:
            os.remove(os.path.join(directory, name))
            removed.append(name)
    return removed


def is_arrays_name(name):
    """Whether `name` is the name of a checkpoint's arrays file (this version's or an older one's)."""
    return bool(_ARRAYS_NAME.fullmatch(name))


def exists(directory):
    return os.path.exists(os.path.join(directory, META))


def load(directory):
    """Read a checkpoint written by `save`: returns (arrays, meta).

    Raises:
        CheckpointError: naming the file that is missing, unreadable or inconsistent.
    """
    meta_path = os.path.join(directory, META)
    if not os.path.exists(meta_path):
        raise CheckpointError(f"no checkpoint: {meta_path} does not exist")
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint metadata {meta_path} is corrupt or truncated ({e})") from None
    except RecursionError:
        raise CheckpointError(f"checkpoint metadata {meta_path} is corrupt: nested too deeply to read") from None
    name = meta.get("arrays_file", ARRAYS) if isinstance(meta, dict) else None
    if not isinstance(name, str) or not _ARRAYS_NAME.fullmatch(name):
        raise CheckpointError(f"checkpoint metadata {meta_path} is corrupt: no valid arrays file named in it")
    if "meta_sha256" in meta and meta["meta_sha256"] != meta_digest(meta):  # checkpoints before it had none
        raise CheckpointError(f"checkpoint metadata {meta_path} was changed after it was saved: its content no "
                              "longer matches the checksum saved in it (meta_sha256)")
    arrays_path = os.path.join(directory, name)
    if not os.path.exists(arrays_path):
        raise CheckpointError(f"no checkpoint: {arrays_path} does not exist")
    try:
        with open(arrays_path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise CheckpointError(f"checkpoint arrays {arrays_path} cannot be read ({e})") from None
    if hashlib.sha256(blob).hexdigest() != meta.get("arrays_sha256"):
        raise CheckpointError(f"checkpoint arrays {arrays_path} are corrupt, truncated, or from another save than {meta_path}")
    try:
        with np.load(io.BytesIO(blob)) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"checkpoint arrays {arrays_path} cannot be read ({e})") from None
    return arrays, meta
