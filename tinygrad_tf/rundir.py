"""Run directories: one run each, locked while a process trains into it, never overwritten by accident.

A run directory holds `checkpoint.json` with its arrays, and `log.jsonl`
(one JSON row per evaluation). While a process trains there it also holds
`.lock`, naming that process; a lock whose process has died is stale and is
taken over.
"""
import json
import os
import socket
import time

from . import checkpoint
from .atomic import write_bytes

LOG = "log.jsonl"
DAMAGED_LOG = "log.jsonl.damaged"  # a log with unreadable rows, kept as it was when they were dropped
LOCK = ".lock"
RUN_FILES = (checkpoint.META, LOG)  # either one makes a directory a run


class RunDirError(Exception):
    """A run directory cannot be used: it holds another run, is locked, or cannot be written."""


def holds_run(directory):
    """Whether `directory` already holds (part of) a training run."""
    return any(os.path.exists(os.path.join(directory, name)) for name in RUN_FILES)


def describe(directory):
    """A short description of the run in `directory`, e.g. "copy, step 24 of 1500" (or "an unreadable run")."""
    try:
        with open(os.path.join(directory, checkpoint.META), encoding="utf-8") as f:
            meta = json.load(f)
        return f"{meta['config']['task']}, step {meta['state']['step']} of {meta['config']['steps']}"
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        if not checkpoint.exists(directory):
            return "a log without a checkpoint: that run never saved one"
        return "a run without a readable checkpoint"


def refuse_run_file(path):
    """Raise RunDirError when `path` is one of a run's own files (its checkpoint, arrays, log or lock).

    Writing a picture or an export over one of them would leave a run that no longer loads.
    """
    folder, name = os.path.split(os.path.abspath(path))
    own = name in RUN_FILES + (LOCK,) or checkpoint.is_arrays_name(name)
    if own and (holds_run(folder) or os.path.exists(os.path.join(folder, LOCK))):
        raise RunDirError(f"{path} is a file of the training run in {folder or os.curdir}: writing it would "
                          "break the run; choose another name")


def check_new(directory, overwrite=False):
    """Check, without writing anything, that a new run can go to `directory`.

    Returns the description of the run that `overwrite` will replace, or None.

    Raises:
        RunDirError: the path is a file, holds a run (and not `overwrite`), or cannot be created or written.
    """
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise RunDirError(f"--out {directory} is a file, not a directory")
    replaced = None
    if os.path.isdir(directory) and holds_run(directory):
        replaced = describe(directory)
        if not overwrite and not checkpoint.exists(directory):  # --resume has nothing to continue from
            raise RunDirError(f"--out {directory} holds the log of a run that saved no checkpoint; start again "
                              f"with --overwrite (it replaces that log), or choose a new --out")
        if not overwrite:
            raise RunDirError(f"--out {directory} already holds a run ({replaced}); continue it with --resume "
                              f"{directory}, choose a new --out, or give --overwrite to replace it")
    check_writable(directory)
    return replaced


def check_writable(directory):
    """Fail now if `directory` (or the nearest folder above it that exists) cannot be written."""
    existing = os.path.abspath(directory)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise RunDirError(f"cannot create {directory}: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunDirError(f"cannot write to {directory}: no write permission on {existing}")


def remove_log(directory):
    """Remove the run's log (an older run's, once --overwrite has replaced its checkpoint); other files stay."""
    path = os.path.join(directory, LOG)
    if os.path.isfile(path):
        os.remove(path)


def append_log(directory, record):
    """Append one JSON record to the run's log (training evaluations, and `evaluate`'s with "event": "evaluate")."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, LOG), "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def trim_log(directory, step, note=print):
    """Keep only the log rows up to `step` (the checkpoint's), so a resumed run does not repeat rows.

    Rows after the checkpoint come from steps that will be trained again (the
    run was stopped between writing a row and saving), and a torn last line
    from a kill mid-write is dropped. Other unreadable lines mean the log was
    damaged: they are dropped too, `note` says how many, and the log as it was
    is kept beside it as `log.jsonl.damaged`. Returns the number of lines removed.
    """
    path = os.path.join(directory, LOG)
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        original = f.read()
    lines = original.splitlines(keepends=True)
    kept, unreadable = [], 0
    for number, line in enumerate(lines, 1):
        row = _log_row(line)
        if row is None:
            torn = number == len(lines) and not line.endswith(b"\n")  # a kill in the middle of writing it
            unreadable += not torn
        elif row["step"] <= step and line.endswith(b"\n"):
            kept.append(line)
    if unreadable:
        write_bytes(os.path.join(directory, DAMAGED_LOG), original)
        note(f"{path}: {unreadable} unreadable {'row was' if unreadable == 1 else 'rows were'} dropped from the "
             f"log; the log as it was is kept in {os.path.join(directory, DAMAGED_LOG)}")
    if len(kept) < len(lines):
        write_bytes(path, b"".join(kept))
    return len(lines) - len(kept)


def _log_row(line):
    """The JSON object of one log line, or None when the line is not one (torn, binary, foreign)."""
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(row, dict) or not isinstance(row.get("step"), int) or isinstance(row["step"], bool):
        return None
    return row


class RunLock:
    """An exclusive lock on a run directory: the file `.lock` holding the owner's pid and host.

    Used as a context manager; `note` receives a line when a stale lock is taken over.

    Raises:
        RunDirError: another live process holds the lock.
    """

    def __init__(self, directory, note=print):
        self.path = os.path.join(directory, LOCK)
        self.directory, self.note = directory, note
        self.mine = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}

    def __enter__(self):
        os.makedirs(self.directory, exist_ok=True)
        for _ in range(3):  # a second try after taking over a stale lock (another process may race us)
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                self._take_over_if_stale()
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.mine, f)
            return self
        raise RunDirError(f"cannot lock {self.directory}: {self.path} keeps reappearing")

    def __exit__(self, *exc):
        if self._owner() == self.mine:
            os.remove(self.path)

    def _owner(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                owner = json.load(f)
            return owner if isinstance(owner, dict) else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # torn by a kill between creating and writing it

    def _take_over_if_stale(self):
        owner = self._owner()
        if owner is None:
            return
        if os.path.isdir(self.path):
            raise RunDirError(f"cannot lock {self.directory}: {self.path} is a folder, not a lock file; remove it")
        pid, host = owner.get("pid"), owner.get("host")
        if owner and host == self.mine["host"] and isinstance(pid, int) and _alive(pid):
            raise RunDirError(f"{self.directory} is in use: process {pid} has been training there since "
                              f"{owner.get('started', '?')}; wait for it to finish or choose another directory")
        if owner and host != self.mine["host"]:
            raise RunDirError(f"{self.directory} is locked by process {pid} on {host}; if no run is active there, "
                              f"delete {self.path}")
        left_by = (f"process {pid}, which is no longer running" if isinstance(pid, int)
                   else "a process that did not finish writing it")
        self.note(f"note: {self.path} was left by {left_by}; taking it over")
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True
