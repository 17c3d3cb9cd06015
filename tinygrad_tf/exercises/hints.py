"""Which hint comes next: `tinygrad-tf exercise hint NAME` remembers, per folder, how many it has shown."""
import json
import os
import tempfile

from . import catalogue

STATE_FILE = ".tinygrad-tf-hints.json"  # in the learner's folder: {exercise name: hints shown}


def next_hint(name, directory="."):
    """(number, count, text) of the next hint of exercise `name` not yet shown in `directory`, and remember it.

    After the last hint the last one is shown again.
    """
    hints = catalogue.get(name).hints
    shown = _load(directory)
    number = min(shown.get(name, 0) + 1, len(hints))
    shown[name] = number
    _save(directory, shown)
    return number, len(hints), hints[number - 1]


def _load(directory):
    try:
        with open(os.path.join(directory, STATE_FILE), encoding="utf-8") as f:
            state = json.load(f)
    except (OSError, ValueError):  # none yet, or unreadable: start from the first hint
        return {}
    return {k: v for k, v in state.items() if isinstance(v, int)} if isinstance(state, dict) else {}


def _save(directory, shown):
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".hints.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as f:
        json.dump(shown, f)
    os.replace(temporary, os.path.join(directory, STATE_FILE))
