"""Running checks case by case: collecting what failed, and the learner's errors shown once each."""
from .compare import ResultProblem, differs
from .learner_code import LearnerError, NotWritten
from .report import Check

SHOWN_FAILURES = 2  # failing cases described in full per check; the rest are counted


class Checks:
    """The checks of one learner file, in order; a learner error is shown in full the first time only.

    A `NotWritten` (the stub) is not caught: it ends the whole check.
    """

    def __init__(self):
        self.checks = []
        self._errors_shown = set()

    def run(self, title, cases, compare):
        """Add the check `title`: `compare(case)` for each case returns lines saying what differs ([]: it agrees).

        Each case needs a `label`. The learner's exceptions and unusable results fail the case with their text.
        """
        failures = []
        for case in cases:
            lines = self.attempt(lambda: compare(case))
            if lines:
                failures.append([f"{case.label}: {lines[0]}"] + [f"  {line}" for line in lines[1:]])
        self.add(title, failures)

    def attempt(self, thunk):
        """`thunk()`'s lines, or the lines that say how the learner's code failed while it ran."""
        try:
            return thunk()
        except NotWritten:
            raise
        except LearnerError as error:
            seen = error.place or str(error)
            if seen in self._errors_shown:
                return [f"your code raised the same error as above: {error.message}"]
            self._errors_shown.add(seen)
            return ["your code raised an error:"] + str(error).splitlines()
        except ResultProblem as problem:
            self._errors_shown.add(str(problem))
            return [str(problem)]

    def shown(self, error):
        """Whether `error` (a LearnerError or a ResultProblem) is in the report already."""
        seen = error.place or str(error) if isinstance(error, LearnerError) else str(error)
        return seen in self._errors_shown

    def add(self, title, failures, passed=None):
        """Add a check whose failing cases are `failures` (each a list of lines)."""
        details = [line for failure in failures[:SHOWN_FAILURES] for line in failure]
        if len(failures) > SHOWN_FAILURES:
            details.append(f"and {len(failures) - SHOWN_FAILURES} more of these cases")
        self.checks.append(Check(title, not failures if passed is None else passed, details))


def array_differences(names, expected, got, **tolerance):
    """Lines naming each of `names` whose array in `got` differs from `expected`."""
    lines = []
    for name, e, g in zip(names, expected, got):
        difference = differs(e, g, **tolerance)
        if difference is not None:
            lines.append(f"{name} {difference.text()}")
    return lines


def optional_torch():
    """The torch module where PyTorch is installed, else None (its checks are then left out)."""
    try:
        import torch
    except ImportError:
        return None
    return torch
