"""`detect_anomaly()`: stop at the first op that produces NaN or Inf.

Inside the context every op remembers where in the user's code it was created.
A forward op raises when it produces NaN from inputs without NaN, or Inf from
finite inputs (so `masked_fill(x, mask, -inf)` and a softmax over it are fine);
a backward step raises when it turns a finite gradient into a non-finite one.
"""
import contextlib
import os
import threading
import traceback


class _State(threading.local):
    enabled = False
    in_backward = False


_state = _State()
_AUTOGRAD_DIR = os.path.dirname(os.path.abspath(__file__))
_ENGINE_DIRS = (_AUTOGRAD_DIR + os.sep, os.path.join(os.path.dirname(_AUTOGRAD_DIR), "ops") + os.sep)  # autograd/, ops/


class AnomalyError(FloatingPointError):
    """Raised inside `detect_anomaly()` by the first op that makes NaN or Inf."""


def is_anomaly_enabled():
    return _state.enabled


@contextlib.contextmanager
def detect_anomaly():
    """Context in which the first forward or backward op producing NaN/Inf raises.

    Example:
        >>> with detect_anomaly():
        ...     loss = model(x).log().sum()   # AnomalyError names 'log' and this line
        ...     loss.backward()
    """
    previous = is_anomaly_enabled()
    _state.enabled = True
    try:
        yield
    finally:
        _state.enabled = previous


def in_backward():
    """True while an op's backward runs: the ops it uses are not checked one by one."""
    return _state.in_backward


@contextlib.contextmanager
def backward_of(ctx):
    """Run an op's backward so that a NaN/Inf it makes is blamed on that op.

    The Tensor operations inside a backward (e.g. the `div` in sqrt's) would
    otherwise fail their own forward check first and be named instead of the op
    being differentiated; `check_backward` then names the op.
    """
    previous = in_backward()
    _state.in_backward = True
    try:
        yield
    finally:
        _state.in_backward = previous


def creation_site():
    """'file:line in function: code' of the innermost frame outside autograd/ and ops/."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        path = os.path.abspath(frame.filename)
        if not path.startswith(_ENGINE_DIRS):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "<unknown>"


def _has_nan(xp, a):
    return xp.issubdtype(a.dtype, xp.floating) and bool(xp.isnan(a).any())


def _all_finite(xp, a):
    return not xp.issubdtype(a.dtype, xp.floating) or bool(xp.isfinite(a).all())


def check_forward(ctx, inputs, output):
    """Raise if `output` has NaN/Inf that the op itself introduced."""
    xp = ctx.xp
    arrays = [xp.asarray(a) for a in inputs if isinstance(a, float) or hasattr(a, "dtype")]
    if _has_nan(xp, output) and not any(_has_nan(xp, a) for a in arrays):
        problem = "NaN"
    elif not _all_finite(xp, output) and all(_all_finite(xp, a) for a in arrays):
        problem = "Inf"
    else:
        return
    raise AnomalyError(
        f"detect_anomaly: forward of op '{ctx.name}' produced {problem} in its output "
        f"(shape {tuple(output.shape)}); the op was created at {ctx.site}"
    )


def check_backward(ctx, grad_output, grad_inputs):
    """Raise if backward of `ctx` turned a finite gradient (an array) into NaN/Inf."""
    xp = ctx.xp
    if not _all_finite(xp, grad_output):
        return
    for i, g in enumerate(grad_inputs):
        if g is not None and not _all_finite(xp, g):
            raise AnomalyError(
                f"detect_anomaly: backward of op '{ctx.name}' produced NaN/Inf in the "
                f"gradient for input {i} (shape {tuple(g.shape)}); the op was created at {ctx.site}"
            )
