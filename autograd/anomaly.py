"""`detect_anomaly()`: stop at the first op that produces NaN or Inf.

Inside the context every op remembers where in the user's code it was created.
A forward op raises when it produces NaN from inputs without NaN, or Inf from
finite inputs (so `masked_fill(x, mask, -inf)` and a softmax over it are fine);
an op whose input already holds NaN raises too, naming where that input came
from rather than the op. A backward step raises when it turns a finite
gradient into a non-finite one, and says so when the op's forward input was
already NaN/Inf.
"""
import contextlib
import os
import threading
import traceback

from . import scope


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


def call_backward(ctx, g):
    """The op's backward, run so that a NaN/Inf it makes is blamed on that op (`backward_of`)."""
    with backward_of(ctx):
        return ctx.fn.backward(ctx, g)


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


def _numeric_inputs(xp, inputs):
    """(index, array) for each input that holds numbers (arrays, and Python floats such as -inf)."""
    return [(i, xp.asarray(a)) for i, a in enumerate(inputs) if isinstance(a, float) or hasattr(a, "dtype")]


def describe_source(value):
    """Where an op's input came from: the op that made it (module, shape, line), or no op at all."""
    if not hasattr(value, "grad_fn"):  # not a Tensor
        return f"the number {value!r} passed to the op"
    ctx = value.grad_fn
    named = f" '{value.name}'" if value.name else ""
    if ctx is None:
        return (
            f"a tensor{named} of shape {value.shape} that no recorded op made (input data, a parameter, "
            "or a result computed without gradients or outside detect_anomaly())"
        )
    site = f", created at {ctx.site}" if ctx.site else ", created outside detect_anomaly()"
    return f"op '{ctx.name}'{_in_module(ctx)} (output of shape {value.shape}{site})"


def on_forward(ctx, args, inputs, output):
    """Remember where the op was made; outside an op's backward, check its output (`check_forward`)."""
    ctx.site, ctx.module = creation_site(), scope.current_module()
    if not in_backward():  # inside a backward, check_backward names the op
        check_forward(ctx, args, inputs, output)


def check_forward(ctx, args, inputs, output):
    """Raise if `output` has NaN/Inf, naming the op that made it.

    `args` are the op's arguments (Tensors, numbers), `inputs` their arrays.
    An op that makes NaN from inputs without NaN, or Inf from finite inputs,
    is blamed. NaN that was already in an input is blamed on where that
    input came from. Inf passed on from an input is not an error (a mask's
    -inf flows through the scores to a softmax that turns it into 0).
    """
    xp = ctx.xp
    if _all_finite(xp, output):
        return
    numeric = _numeric_inputs(xp, inputs)
    shape = tuple(output.shape)
    if _has_nan(xp, output):
        already = next((i for i, a in numeric if _has_nan(xp, a)), None)
        if already is not None:
            raise AnomalyError(
                f"detect_anomaly: op '{ctx.name}'{_in_module(ctx)} (output shape {shape}, created at {ctx.site}) got NaN in its "
                f"input {already}, which was already NaN, so the NaN comes from before this op: the input "
                f"came from {describe_source(args[already])}"
            )
        problem = "NaN"
    elif all(_all_finite(xp, a) for _, a in numeric):
        problem = "Inf"
    else:
        return
    raise AnomalyError(
        f"detect_anomaly: forward of op '{ctx.name}'{_in_module(ctx)} produced {problem} in its output "
        f"(shape {shape}); the op was created at {ctx.site}{_infinite_inputs(ctx, xp, numeric, args)}"
    )


def _site(ctx):
    return ctx.site or "a line not recorded (its forward ran outside detect_anomaly())"


def _in_module(ctx):
    return f" in {ctx.module}" if ctx.module else ""


def _infinite_inputs(ctx, xp, numeric, args):
    """A note on the inputs that already held Inf (NaN made from Inf, e.g. inf - inf), or ''."""
    infinite = [i for i, a in numeric if not _all_finite(xp, a)]
    if not infinite:
        return ""
    i = infinite[0]
    return f"; its input {i} already held Inf, from {describe_source(args[i])}"


def check_backward(ctx, grad_output, grad_inputs):
    """Raise if backward of `ctx` turned a finite gradient (an array) into NaN/Inf.

    When one of the op's forward inputs was already NaN/Inf, the error says
    so and names where that input came from, instead of blaming the op.
    """
    xp = ctx.xp
    if not _all_finite(xp, grad_output):
        return
    for i, g in enumerate(grad_inputs):
        if g is not None and not _all_finite(xp, g):
            message = (
                f"detect_anomaly: backward of op '{ctx.name}'{_in_module(ctx)} produced NaN/Inf in the "
                f"gradient for input {i} (shape {tuple(g.shape)}); the op was created at {_site(ctx)}"
            )
            bad = [j for j, a in _numeric_inputs(xp, ctx._raw) if not _all_finite(xp, a)]
            if bad:
                j = bad[0]
                kind = "NaN" if _has_nan(xp, xp.asarray(ctx._raw[j])) else "Inf"
                message += (
                    f", but its input {j} was already {kind} in the forward pass, so the cause is before "
                    f"this op: the input came from {describe_source(ctx.inputs[j])}"
                )
            raise AnomalyError(message)
