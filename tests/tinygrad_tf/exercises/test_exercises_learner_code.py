"""The learner's file misbehaving: exit() in it, a directory for a file, `ops.where` given no mask."""
import numpy as np
import pytest

import ops
from autograd import Tensor
from exercise_answers import write
from tinygrad_tf.exercises import EXERCISES, check

SOFTMAX = "y * (dy - (dy * y).sum(axis=axis, keepdims=True))"


@pytest.mark.parametrize("call, said", [("sys.exit(0)", "exit(0)"), ("sys.exit(3)", "exit(3)"), ("exit()", "exit()"),
                                        ("sys.exit('done')", "exit('done')")])
def test_exit_in_the_function_fails_the_checks_with_the_learners_line(tmp_path, call, said):
    path = write(tmp_path, "softmax", f"import sys\n\ndef softmax_backward(y, dy, axis=-1):\n    {call}\n")
    report = check("softmax", path)  # SystemExit would end the test run here
    assert not report.passed and report.problem is None and len(report.checks) == 4
    details = "\n".join(report.checks[0].details)
    assert f'File "{path}", line 4, in softmax_backward' in details
    assert f"your code called {said}" in details


def test_exit_at_the_top_of_the_file_is_a_problem_naming_it(tmp_path):
    path = write(tmp_path, "softmax", f"import sys\nsys.exit(0)\n\ndef softmax_backward(y, dy, axis=-1):\n"
                                      f"    return {SOFTMAX}\n")
    report = check("softmax", path)
    assert not report.passed
    assert "raised while it was loaded" in report.problem and "your code called exit(0)" in report.problem
    assert f'File "{path}", line 2, in <module>' in report.problem


def test_ctrl_c_in_the_learners_code_still_interrupts(tmp_path):
    path = write(tmp_path, "softmax", "def softmax_backward(y, dy, axis=-1):\n    raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        check("softmax", path)


def test_a_directory_is_said_to_be_one(tmp_path):
    report = check("softmax", str(tmp_path))
    assert "is a directory" in report.problem and "no such file" not in report.problem
    assert len(report.problem.splitlines()) == 1


def test_where_refuses_a_none_condition():
    x, y = Tensor(np.ones(3)), Tensor(np.zeros(3))
    with pytest.raises(TypeError, match=r"where: the condition \(the mask\) is None"):
        ops.where(None, x, y)
    np.testing.assert_array_equal(ops.where(np.array([True, False, True]), x, y).numpy(), [1.0, 0.0, 1.0])


def test_an_attention_that_masks_with_no_mask_fails_loudly(tmp_path):
    source = EXERCISES["attention"].solution.replace("    if mask is not None:\n        scores", "    if True:\n        scores")
    report = check("attention", write(tmp_path, "attention", source))
    no_mask = report.checks[0]
    assert not no_mask.passed
    assert "TypeError: where: the condition (the mask) is None" in "\n".join(no_mask.details)
