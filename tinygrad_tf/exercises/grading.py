"""`check(name, path)`: load the learner's file, run the exercise's checks, and report."""
import os

from . import catalogue, learner_code
from .checking import Checks
from .compare import ResultProblem
from .learner_code import LearnerError
from .report import Report


def _runners():
    """{exercise name: run(exercise, learner, checks) -> FirstWrong or None}."""
    from . import adam_checks, attention_checks, backward_checks, table_checks

    backward = {name: backward_checks.run for name in ("matmul", "softmax", "layer_norm", "cross_entropy")}
    return dict(backward, attention=attention_checks.run, positional_encoding=table_checks.run_positional_encoding,
                causal_mask=table_checks.run_causal_mask, adam=adam_checks.run)


def check(name, path, explore=None):
    """Grade the learner's file `path` for the exercise `name`.

    Args:
        name: one of `tinygrad_tf.exercises.EXERCISES` ("softmax", ...).
        path: the learner's file, which defines the exercise's function.
        explore: a path: also write the explorer page of the learner's run in the model, opened at the
            first wrong node.

    Returns:
        A Report: `.passed`, `.checks`, `.first_wrong`, `.problem`; `print(report)` shows it, Jupyter
        displays it.

    Raises:
        KeyError: there is no exercise `name`.
    """
    exercise = catalogue.get(name)
    checks = Checks()
    report = Report(name, os.path.abspath(path))
    try:
        learner = learner_code.load(path, exercise.function)
        report.first_wrong = _runners()[name](exercise, learner, checks)
    except (LearnerError, ResultProblem) as error:  # the stub, a syntax error, a file that does not load
        report.problem = str(error)
    report.checks = checks.checks
    if explore is not None and report.problem is None:
        report.page, report.note = _explore(exercise, learner, report.first_wrong, explore, checks)
    return report


def _explore(exercise, learner, first_wrong, path, checks):
    """(page written or None, note or None): the explorer page of the learner's run, or why there is none.

    The learner's code runs in the model again to build the page; where it failed there already, the
    report says so above, and the note only points to it.
    """
    from .explore import write_page

    try:
        return write_page(exercise, learner, first_wrong, path)
    except ResultProblem as problem:
        said = "see above" if checks.shown(problem) else str(problem)
        return None, f"--explore: no page written: your answer could not run in the model ({said})"
    except LearnerError as error:
        if checks.shown(error):
            return None, "--explore: no page written (see the error above)"
        return None, f"--explore: no page written: your code failed while the page was built:\n{error}"
