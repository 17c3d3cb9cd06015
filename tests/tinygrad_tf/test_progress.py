"""The training progress line: it says when an evaluation runs, and its time left counts the evaluations to come."""
import io

import pytest

from tinygrad_tf import progress as progress_module
from tinygrad_tf.progress import Progress


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress_module.time, "time", clock)
    return clock


def test_an_evaluation_is_announced_on_the_progress_stream():
    stream = io.StringIO()
    Progress(10, 0, "training copy", stream=stream, eval_every=5).evaluating(5)
    assert stream.getvalue() == "training copy: step 5/10 evaluating on the validation split...\n"


@pytest.mark.parametrize("total, every, step, left", [(10, 5, 1, 2), (10, 5, 5, 2), (10, 5, 6, 1), (12, 5, 11, 1),
                                                      (12, 5, 6, 2), (10, 20, 3, 1), (10, None, 3, 0)])
def test_evaluations_left_counts_those_at_every_nth_step_and_at_the_last(total, every, step, left):
    counted = Progress(total, 0, "x", enabled=False, eval_every=every).evaluations_left(step)
    expected = len({s for s in range(step, total + 1) if every and (s % every == 0 or s == total)})
    assert counted == expected == left


def test_the_time_left_counts_the_evaluations_to_come_at_their_measured_pace(clock):
    bar = Progress(10, 0, "training", stream=io.StringIO(), eval_every=5)
    clock.now += 2.0  # two steps of 1 s each
    assert bar.time_left(2) == pytest.approx(8.0)  # the evaluations are not timed yet
    assert bar._left_text(2, float("inf")).endswith("left + evaluations")
    clock.now += 3.0  # steps 3 to 5
    bar.evaluating(5)
    clock.now += 10.0
    bar.evaluated(10.0)  # the evaluation at step 5 took 10 s
    clock.now += 1.0  # step 6
    # steps: 6 s of training for 6 steps -> 4 s for the 4 left; one evaluation to come (step 10) -> 10 s
    assert bar.time_left(6) == pytest.approx(4.0 + 10.0)
    assert bar._left_text(6, float("inf")) == "0m14s left"


def test_the_printed_line_shows_the_estimate_with_the_evaluations(clock):
    stream = io.StringIO()
    bar = Progress(4, 0, "training", stream=stream, interval=0.0, eval_every=2)
    for step in (1, 2):  # as the trainer does: the step's line, then (at an evaluation step) the evaluation
        clock.now += 1.0
        bar.update(step, 2.0, 1e-3, 100.0)
    bar.evaluating(2)
    clock.now += 30.0
    bar.evaluated(30.0)
    clock.now += 1.0
    bar.update(3, 2.0, 1e-3, 100.0)
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("0m03s left + evaluations") and "evaluating" in lines[2]
    assert lines[3].endswith("0m31s left")  # 1 step of 1 s and the evaluation at step 4, of 30 s
