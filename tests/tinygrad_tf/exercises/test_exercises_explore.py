"""`check(..., explore=PAGE)` when the learner's answer cannot run in the model: the report stays whole, the
learner's error is shown once, and the note says why no page was written."""
import shutil

import pytest

from exercise_answers import write
from tinygrad_tf.exercises import check

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")

RETURNS_NONE = "def softmax_backward(y, dy, axis=-1):\n    return None\n"
RAISES_IN_THE_MODEL = ("def softmax_backward(y, dy, axis=-1):\n    if y.ndim == 4:\n"
                       "        raise RuntimeError('only in the model')\n"
                       "    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))\n")


@pytest.mark.parametrize("source", [RETURNS_NONE, "def layer_norm_backward(x, weight, dy, eps):\n    return x, x\n"],
                         ids=["None", "a tuple of the wrong length"])
def test_an_answer_that_cannot_run_keeps_the_report_and_writes_no_page(tmp_path, source):
    name = "softmax" if "softmax" in source else "layer_norm"
    page = tmp_path / "p.html"
    without = check(name, write(tmp_path, name, source))
    report = check(name, write(tmp_path, name, source), explore=str(page))
    assert report.problem is None and report.page is None and not page.exists()
    assert [(c.title, c.passed, c.details) for c in report.checks] == [
        (c.title, c.passed, c.details) for c in without.checks]  # the report as without --explore
    assert report.note.startswith("--explore: no page written: your answer could not run in the model")
    assert report.text().startswith(without.text().rsplit("\n", 1)[0])


def test_an_error_in_the_model_is_shown_once_and_the_note_points_to_it(tmp_path):
    page = tmp_path / "p.html"
    report = check("softmax", write(tmp_path, "softmax", RAISES_IN_THE_MODEL), explore=str(page))
    text = report.text()
    assert text.count("RuntimeError: only in the model") == 1 and text.count("Traceback (your code)") == 1
    assert report.note == "--explore: no page written (see the error above)"
    assert not page.exists()


def test_an_error_met_only_while_the_page_is_built_is_shown_in_full(tmp_path, monkeypatch):
    from tinygrad_tf.exercises import checking

    monkeypatch.setattr(checking.Checks, "shown", lambda self, error: False)  # as if the checks had not met it
    report = check("softmax", write(tmp_path, "softmax", RAISES_IN_THE_MODEL), explore=str(tmp_path / "p.html"))
    assert "your code failed while the page was built" in report.note
    assert "RuntimeError: only in the model" in report.note
