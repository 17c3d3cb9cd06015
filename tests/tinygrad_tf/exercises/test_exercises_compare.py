"""Comparing the learner's arrays with the expected ones."""
import numpy as np
import pytest

from tinygrad_tf.exercises.compare import ResultProblem, as_array, as_tuple, differs


def test_agreement_within_rounding_is_no_difference():
    expected = np.random.default_rng(0).normal(size=(3, 4))
    assert differs(expected, expected * (1 + 1e-12)) is None
    assert differs(np.zeros(3), np.full(3, 1e-12)) is None


def test_a_difference_names_the_largest_error_and_both_norms():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = expected.copy()
    got[1, 0] = 3.5
    d = differs(expected, got)
    assert d.at == (1, 0) and d.largest_error == pytest.approx(0.5)
    assert d.expected_norm == pytest.approx(np.linalg.norm(expected)) and d.got_norm == pytest.approx(np.linalg.norm(got))
    assert "largest error 0.5 at [1, 0] (should be 3, was 3.5)" in d.text()
    where, should, was = d.rows()
    assert (where, should, was) == ("[1, :]", "3 4", "3.5 4")


def test_nan_where_a_number_is_expected_differs_but_matching_infinities_do_not():
    assert differs(np.array([1.0, 2.0]), np.array([1.0, np.nan])) is not None
    assert differs(np.array([-np.inf, 1.0]), np.array([-np.inf, 1.0])) is None
    assert differs(np.array([np.nan]), np.array([np.nan])) is None


def test_unusable_results_are_said_plainly():
    with pytest.raises(ResultProblem, match="returned None for dx"):
        as_array(None, "dx", (2,), "f")
    with pytest.raises(ResultProblem, match=r"returned dx of shape \(3,\); expected \(2,\)"):
        as_array(np.zeros(3), "dx", (2,), "f")
    with pytest.raises(ResultProblem, match="returned str for dx"):
        as_array("a", "dx", (2,), "f")
    with pytest.raises(ResultProblem, match=r"returned a tuple of 1; expected a tuple \(da, db\)"):
        as_tuple((1,), ("da", "db"), "f")


def test_a_lower_precision_is_named_and_the_values_shown_apart():
    expected = np.random.default_rng(1).normal(size=(3, 4)) * 0.05
    d = differs(expected, expected.astype(np.float16))
    assert d.text().startswith("returned float16 where the inputs were float64: ")
    should, was = d.text().rsplit("(should be ", 1)[1].rstrip(")").split(", was ")
    assert should != was  # as many digits as it takes to tell them apart
    assert float(should) == pytest.approx(expected[d.at], rel=1e-3) and float(was) == pytest.approx(d.got[d.at], rel=1e-3)
    assert differs(expected, expected.astype(np.float32) * 1.01).narrowed == "float32 where the inputs were float64"
    assert differs(expected, expected * 1.01).narrowed is None


def test_a_float16_answer_stays_float16_for_the_report():
    assert as_array(np.zeros(2, dtype=np.float16), "dx", (2,), "f").dtype == np.float16
    assert as_array([1, 2], "dx", (2,), "f").dtype == np.float64


def test_a_difference_and_a_first_wrong_print_short(tmp_path):
    from exercise_answers import write
    from tinygrad_tf.exercises import check

    report = check("softmax", write(tmp_path, "softmax", "def softmax_backward(y, dy, axis=-1):\n    return y * dy\n"))
    shown = repr(report.first_wrong)
    assert shown.startswith("<FirstWrong softmax, role 'attention weights', module 'encoder.layers.0.self_attn'")
    (_, difference), = report.first_wrong.sent
    assert f"{difference.expected_norm:.4g}" in shown and f"{difference.got_norm:.4g}" in shown
    assert "array(" not in shown and len(shown) < 300
    assert "array(" not in repr(difference) and len(repr(difference)) < 150
