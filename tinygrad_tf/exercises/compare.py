"""Comparing what the learner's code gave with what it should have given: arrays, shapes, and a one-line account.

The checks run in float64, where a right answer agrees with the reference to
about 1e-12 of its size and a wrong one differs by a visible amount; the
tolerance sits far between the two.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

RTOL = 1e-6  # of the largest expected magnitude
ATOL = 1e-9


class ResultProblem(Exception):
    """What the learner's function returned cannot be compared: not an array, or the wrong shape."""


@dataclass(repr=False)  # the default repr would print both arrays whole
class Difference:
    """How an array differs from the expected one."""

    expected_norm: float
    got_norm: float
    largest_error: float
    at: tuple  # the index of the largest error
    expected: np.ndarray
    got: np.ndarray
    narrowed: Optional[str] = None  # 'float16 where the inputs were float64': the got values' lower precision

    def short(self):
        """'norm 0.53 should be, 0.88 was; largest error 0.21 at [1, 2]'."""
        index = "[" + ", ".join(str(i) for i in self.at) + "]"
        return (f"norm {self.expected_norm:.4g} should be, {self.got_norm:.4g} was; largest error "
                f"{self.largest_error:.3g} at {index}")

    def __repr__(self):
        return f"<Difference {self.short()}>"

    def text(self):
        """'should have had norm 0.53, had 0.88; largest error 0.21 at [1, 2] (should be 0.1, was 0.31)', the norms
        and the two values with as many digits as it takes to tell them apart (up to 9); led by 'returned
        float16 where the inputs were float64: ' where the values came back in a lower precision."""
        index = "[" + ", ".join(str(i) for i in self.at) + "]"
        norms = _apart(self.expected_norm, self.got_norm)
        values = _apart(float(self.expected[self.at]), float(self.got[self.at]))
        lead = f"returned {self.narrowed}: " if self.narrowed else ""
        return (f"{lead}should have had norm {norms[0]}, had {norms[1]}; largest error {self.largest_error:.3g} at "
                f"{index} (should be {values[0]}, was {values[1]})")

    def rows(self, count=6):
        """The first few values along the last axis at the largest error: (should be, was), as text."""
        head = self.at[:-1] if self.expected.ndim else ()
        row_expected, row_got = np.atleast_1d(self.expected[head]), np.atleast_1d(self.got[head])
        where = "[" + ", ".join([str(i) for i in head] + [":"]) + "]" if head else "[:]"
        more = " ..." if row_expected.size > count else ""
        return (where, " ".join(_number(v) for v in row_expected[:count]) + more,
                " ".join(_number(v) for v in row_got[:count]) + more)


def differs(expected, got, rtol=RTOL, atol=ATOL):
    """A Difference when `got` is not `expected` within the tolerance (NaN where a number is expected differs), else None."""
    lower = narrowed(np.asarray(got).dtype, np.asarray(expected).dtype)
    expected, got = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf
        error = np.abs(expected - got)
    error = np.where((expected == got) | (np.isnan(expected) & np.isnan(got)), 0.0, error)  # equal infinities agree
    error = np.where(np.isnan(error), np.inf, error)  # NaN or inf where a number was expected
    scale = float(np.max(np.abs(expected[np.isfinite(expected)]), initial=0.0))
    if not error.size or float(error.max()) <= atol + rtol * scale:
        return None
    at = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
    return Difference(_norm(expected), _norm(got), float(error.max()), tuple(int(i) for i in at), expected, got,
                      lower)


def narrowed(got_dtype, expected_dtype):
    """'float16 where the inputs were float64' when `got_dtype` is a float of lower precision, else None."""
    got_dtype, expected_dtype = np.dtype(got_dtype), np.dtype(expected_dtype)
    if got_dtype.kind == expected_dtype.kind == "f" and got_dtype.itemsize < expected_dtype.itemsize:
        return f"{got_dtype} where the inputs were {expected_dtype}"
    return None


def as_array(value, what, shape, function):
    """`value` (an array the learner's `function` returned as `what`) as an array of `shape`: floats in the
    learner's own precision, anything else as float64.

    Raises:
        ResultProblem: None, something that is not numbers, or another shape.
    """
    if value is None:
        raise ResultProblem(f"{function} returned None for {what}: did it forget to `return`?")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ResultProblem(f"{function} returned {type(value).__name__} for {what}; expected an array of shape "
                            f"{shape}") from None
    if array.shape != tuple(shape):
        raise ResultProblem(f"{function} returned {what} of shape {array.shape}; expected {tuple(shape)}")
    own = np.asarray(value)
    return own if own.dtype.kind == "f" else array  # a float16 answer stays float16, for the report to say so


def as_tuple(value, names, function):
    """The learner's returned tuple, checked to hold one value per name in `names`."""
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = (f"a {type(value).__name__} of {len(value)}" if isinstance(value, (tuple, list))
               else "one array" if isinstance(value, np.ndarray) else type(value).__name__)
        raise ResultProblem(f"{function} returned {got}; expected a tuple ({', '.join(names)})")
    return tuple(value)


def _norm(array):
    finite = np.where(np.isfinite(array), array, 0.0)
    norm = float(np.sqrt((finite ** 2).sum()))
    return norm if np.isfinite(array).all() else float("nan")


def _number(value):
    return f"{float(value):.4g}"


def _apart(a, b):
    """(a, b) as text with as many digits as it takes to tell them apart (4 to 9)."""
    digits = next((d for d in range(4, 10) if f"{a:.{d}g}" != f"{b:.{d}g}"), 4)
    return f"{a:.{digits}g}", f"{b:.{digits}g}"
