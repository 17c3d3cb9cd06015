"""Comparing what the learner's code gave with what it should have given: arrays, shapes, and a one-line account.

The checks run in float64, where a right answer agrees with the reference to
about 1e-12 of its size and a wrong one differs by a visible amount; the
tolerance sits far between the two.
"""
from dataclasses import dataclass

import numpy as np

RTOL = 1e-6  # of the largest expected magnitude
ATOL = 1e-9


class ResultProblem(Exception):
    """What the learner's function returned cannot be compared: not an array, or the wrong shape."""


@dataclass
class Difference:
    """How an array differs from the expected one."""

    expected_norm: float
    got_norm: float
    largest_error: float
    at: tuple  # the index of the largest error
    expected: np.ndarray
    got: np.ndarray

    def text(self):
        """'should have had norm 0.53, had 0.88; largest error 0.21 at [1, 2] (should be 0.1, was 0.31)', the norms
        with as many digits as it takes to tell them apart (up to 9)."""
        index = "[" + ", ".join(str(i) for i in self.at) + "]"
        digits = next((d for d in range(4, 10) if f"{self.expected_norm:.{d}g}" != f"{self.got_norm:.{d}g}"), 4)
        return (f"should have had norm {self.expected_norm:.{digits}g}, had {self.got_norm:.{digits}g}; largest error "
                f"{self.largest_error:.3g} at {index} (should be {_number(self.expected[self.at])}, "
                f"was {_number(self.got[self.at])})")

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
    expected, got = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf
        error = np.abs(expected - got)
    error = np.where((expected == got) | (np.isnan(expected) & np.isnan(got)), 0.0, error)  # equal infinities agree
    error = np.where(np.isnan(error), np.inf, error)  # NaN or inf where a number was expected
    scale = float(np.max(np.abs(expected[np.isfinite(expected)]), initial=0.0))
    if not error.size or float(error.max()) <= atol + rtol * scale:
        return None
    at = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
    return Difference(_norm(expected), _norm(got), float(error.max()), tuple(int(i) for i in at), expected, got)


def as_array(value, what, shape, function):
    """`value` (an array the learner's `function` returned as `what`) as a float64 array of `shape`.

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
    return array


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
