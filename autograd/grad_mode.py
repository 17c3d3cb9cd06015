"""Whether operations record a graph: `no_grad()` and `enable_grad()`."""
import contextlib
import copy
import threading


class _State(threading.local):
    enabled = True  # each thread starts with recording on


_state = _State()


def is_grad_enabled():
    """True when new operations are being recorded for backward."""
    return _state.enabled


def set_grad_enabled(enabled):
    _state.enabled = bool(enabled)


class _GradMode(contextlib.ContextDecorator):
    """Sets grad mode inside a `with` block or a decorated function, then restores it."""

    enabled = True

    def __enter__(self):
        self._previous = is_grad_enabled()
        set_grad_enabled(self.enabled)
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._previous)
        return False

    def _recreate_cm(self):
        # Used by ContextDecorator for each call of a decorated function: a fresh
        # copy, so nested or recursive calls each restore their own previous state.
        return copy.copy(self)


class no_grad(_GradMode):
    """Operations inside record no graph (inference, parameter updates).

    Example:
        >>> with no_grad():
        ...     y = model(x)        # y.requires_grad is False
    """

    enabled = False


class enable_grad(_GradMode):
    """Turns recording back on inside a `no_grad` region."""

    enabled = True

