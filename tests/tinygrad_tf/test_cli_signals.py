"""SIGTERM during `tinygrad-tf train`, then --resume: the same weights and log as a run never stopped.

Run as real processes (`python -m tinygrad_tf`), since signals and locks are about processes.
"""
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_tf import checkpoint
from helpers import tiny_copy_training

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Dropout on, so the resumed run must also restore the per-step dropout seeding.
TINY = tiny_copy_training(steps=120, max_pairs=150, batch_tokens=120, eval_every=25, seed=5) + [
    "--dropout", "0.2", "--progress-every", "0"]
TIMING = ("tokens_per_s", "time")


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
                PYTHONUNBUFFERED="1")


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "tinygrad_tf", *args], capture_output=True, text=True,
                          env=_env(), timeout=timeout)


def _log_rows(directory):
    with open(os.path.join(directory, "log.jsonl"), encoding="utf-8") as f:
        return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in f]


def _train_until_signalled(out, signum, after_step=3):
    """Start a training process, send `signum` once it reports step `after_step`; returns (exit code, output)."""
    process = subprocess.Popen([sys.executable, "-m", "tinygrad_tf", "train", *TINY, "--out", out],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if f"step {after_step}/" in line:
                process.send_signal(signum)
                break
        lines.extend(process.stdout)
        return process.wait(timeout=120), "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("straight") / "run")
    done = _cli("train", *TINY, "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_then_resume_equals_an_uninterrupted_run(uninterrupted, tmp_path, signum):
    out = str(tmp_path / "run")
    code, output = _train_until_signalled(out, signum)
    assert code == 128 + signum, output
    assert "Traceback" not in output
    stopped = checkpoint.load(out)[1]["state"]["step"]
    assert 3 <= stopped < 120, output
    assert f"interrupted at step {stopped}: checkpoint saved to {out}" in output
    assert not os.path.exists(os.path.join(out, ".lock"))

    resumed = _cli("train", "--resume", out)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming {out} at step {stopped} of 120" in resumed.stdout

    mine, theirs = checkpoint.load(out)[0], checkpoint.load(uninterrupted)[0]
    assert sorted(mine) == sorted(theirs)
    for name in mine:
        np.testing.assert_array_equal(mine[name], theirs[name], err_msg=name)
    assert _log_rows(out) == _log_rows(uninterrupted)  # the same rows, once each, with the same losses


def test_progress_lines_when_not_a_terminal(uninterrupted, tmp_path):
    done = _cli("train", *TINY[:-1], "0", "--steps", "4", "--eval-every", "2", "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("training copy: step")]
    progress = [line for line in lines if "evaluating" not in line]
    assert [line.split()[3] for line in progress] == ["1/4", "2/4", "3/4", "4/4"]
    for line in progress:
        assert " loss " in line and " tok/s" in line and line.endswith((" left", " left + evaluations"))
    assert progress[0].endswith(" left + evaluations")  # no evaluation timed yet: the estimate says it leaves them out
    evaluations = [line for line in lines if "evaluating" in line]
    assert [line.split()[3] for line in evaluations] == ["2/4", "4/4"]
    assert lines.index(evaluations[0]) == lines.index(progress[1]) + 1  # right after the step it follows


def test_output_closed_mid_run_saves_and_resumes_like_a_signal(uninterrupted, tmp_path):
    """`train ... | head -3`: the reader goes away; the run stops after the step, saved, exit 128 + SIGPIPE."""
    out = str(tmp_path / "run")
    process = subprocess.Popen([sys.executable, "-m", "tinygrad_tf", "train", *TINY, "--out", out],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        for _ in range(3):  # what `head -3` reads, then it exits
            process.stdout.readline()
        process.stdout.close()
        code = process.wait(timeout=120)
        errors = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code == 128 + signal.SIGPIPE, errors
    assert "Traceback" not in errors
    stopped = checkpoint.load(out)[1]["state"]["step"]
    assert 1 <= stopped < 120
    assert f"output closed: stopped at step {stopped}, checkpoint saved; continue with --resume {out}" in errors
    assert not os.path.exists(os.path.join(out, ".lock"))
    resumed = _cli("train", "--resume", out)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    mine, theirs = checkpoint.load(out)[0], checkpoint.load(uninterrupted)[0]
    for name in mine:
        np.testing.assert_array_equal(mine[name], theirs[name], err_msg=name)
