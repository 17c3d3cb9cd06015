"""Resuming and the run's files under damage: an edited checkpoint, a bad saved step, a damaged log, a full disk at
the first save, and the same command with --resume added.
"""
import errno
import json
import os
import shutil

import pytest
from helpers import assert_clean_error, edit_checkpoint_meta, run_cli, tiny_copy_training, train_tiny_run

from tinygrad_tf import atomic, checkpoint, rundir

TINY = tiny_copy_training(steps=4, max_pairs=60, batch_tokens=200, eval_every=2, seed=5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny_run(tmp_path_factory, "resume", TINY)


@pytest.fixture
def run(tmp_path, trained):
    copy = str(tmp_path / "run")
    shutil.copytree(trained, copy)
    return copy


def _meta_path(run):
    return os.path.join(run, checkpoint.META)


def test_an_edited_field_of_the_checkpoint_is_refused_by_name(run):
    def one_more_adam_step(meta):  # the edit the checksum is there for: Adam's step count changed by hand
        meta["state"]["optimizer"]["steps"] += 10

    edit_checkpoint_meta(run, one_more_adam_step, reseal=False)
    for command in (["train", "--resume", run, "--steps", "6"], ["translate", "--checkpoint", run, "1 2"]):
        assert_clean_error(run_cli(*command), _meta_path(run), "changed after it was saved")


def test_the_checksum_covers_every_field_but_itself(run):
    with open(_meta_path(run), encoding="utf-8") as f:
        meta = json.load(f)
    assert meta["meta_sha256"] == checkpoint.meta_digest(meta)
    assert checkpoint.meta_digest(dict(meta, meta_sha256="other")) == meta["meta_sha256"]
    meta["config"]["lr"] = meta["config"]["lr"] * 2
    assert checkpoint.meta_digest(meta) != meta["meta_sha256"]


def test_a_checkpoint_saved_before_the_checksum_still_loads(run):
    edit_checkpoint_meta(run, lambda meta: meta.pop("meta_sha256"), reseal=False)
    assert run_cli("translate", "--checkpoint", run, "1 2").exit_code == 0


@pytest.mark.parametrize("step", ["x", -5, 2.5, True, None])
def test_a_saved_step_that_is_no_step_count_is_refused(run, step):
    edit_checkpoint_meta(run, lambda meta: meta["state"].update(step=step))
    assert_clean_error(run_cli("train", "--resume", run, "--steps", "6"), "state.step", repr(step))


def test_deeply_nested_metadata_is_a_sentence_naming_the_file(run):
    with open(_meta_path(run), "w", encoding="utf-8") as f:
        f.write("[" * 100_000 + "]" * 100_000)
    error = assert_clean_error(run_cli("translate", "--checkpoint", run, "1 2"), _meta_path(run))
    assert "recursion" not in error


def test_a_damaged_log_is_kept_and_its_dropped_rows_counted(run):
    log = os.path.join(run, rundir.LOG)
    with open(log, "rb") as f:
        rows = f.read().splitlines(keepends=True)
    damaged = rows[:1] + [b"\x00\xffnot json\n", b'{"step": "two"}\n'] + rows[1:]
    with open(log, "wb") as f:
        f.write(b"".join(damaged))
    result = run_cli("train", "--resume", run, "--steps", "6")
    assert result.exit_code == 0, result.output
    assert "2 unreadable rows were dropped" in result.output and rundir.DAMAGED_LOG in result.output
    with open(os.path.join(run, rundir.DAMAGED_LOG), "rb") as f:
        assert f.read() == b"".join(damaged)
    with open(log, encoding="utf-8") as f:
        assert [json.loads(line)["step"] for line in f] == [2, 4, 6]


def test_a_log_with_nan_or_binary_rows_is_a_sentence_naming_it(run):
    pytest.importorskip("matplotlib")
    log = os.path.join(run, rundir.LOG)
    with open(log, "a", encoding="utf-8") as f:
        f.write('{"step": 8, "train_loss": NaN, "valid_loss": Infinity, "valid_bleu": Infinity, "lr": NaN}\n')
    result = run_cli("plot", run, "--out", os.path.join(run, "curves.png"))
    assert result.exit_code == 0, result.output  # the nan and inf are left out of the picture
    with open(log, "ab") as f:
        f.write(b"\x89\xff\x00binary\n")
    assert_clean_error(run_cli("plot", run, "--out", os.path.join(run, "curves.png")), log, "line")


def _full_disk_at_the_first_save(monkeypatch):
    """Every file written whole fails as on a full disk (the log's appended rows still go in)."""
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", full)


def test_a_full_disk_at_the_first_save_leaves_one_way_on(tmp_path, monkeypatch):
    out = str(tmp_path / "fresh")
    with monkeypatch.context() as patch:
        _full_disk_at_the_first_save(patch)
        error = assert_clean_error(run_cli("train", *TINY, "--out", out), "checkpoint", "no space left on device")
    assert "[Errno" not in error and "run the same command again" in error
    assert not os.path.exists(out) or not rundir.holds_run(out)  # nothing that looks like a run to resume
    result = run_cli("train", *TINY, "--out", out)  # the way out it named works
    assert result.exit_code == 0, result.output


def test_a_folder_with_only_a_log_says_overwrite_both_ways(tmp_path):
    out = tmp_path / "logonly"
    out.mkdir()
    (out / rundir.LOG).write_text('{"step": 2}\n', encoding="utf-8")
    assert_clean_error(run_cli("train", *TINY, "--out", str(out)), "--overwrite")
    assert_clean_error(run_cli("train", "--resume", str(out)), "--overwrite")
    result = run_cli("train", *TINY, "--out", str(out), "--overwrite")
    assert result.exit_code == 0, result.output


def test_the_same_command_with_resume_added_is_accepted(run):
    result = run_cli("train", *TINY[:2], "--d-model", "16", "--layers", "1", "--seed", "5", "--out", run,
                     "--resume", run, "--steps", "6")
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and "step 6" in result.output


@pytest.mark.parametrize("args, named", [
    (["--d-model", "32"], "--d-model 32 (the run's is 16)"),
    (["--task", "reverse"], "--task reverse (the run's is copy)"),
    (["--norm-first"], "--norm-first true (the run's is false)"),
    (["--out", "elsewhere"], "--out elsewhere (the run's is"),
    (["--overwrite"], "--overwrite"),
])
def test_a_different_setting_with_resume_is_refused_naming_both_values(run, args, named):
    before = os.path.getmtime(_meta_path(run))
    assert_clean_error(run_cli("train", "--resume", run, *args), named)
    assert os.path.getmtime(_meta_path(run)) == before
