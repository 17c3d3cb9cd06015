"""Bad invocations of every command: a one-line error naming the option or file, no traceback, nothing touched.

Also the run directory rules (one run each, a lock, stale temporaries
cleaned) and the help text of every option.
"""
import importlib
import json
import os
import shutil
import socket
import subprocess
import sys

import click
import pytest
from helpers import assert_clean_error, run_cli, tiny_copy_training, train_tiny_run

import autograd
from tinygrad_tf import checkpoint
from tinygrad_tf.cli import main

TINY = tiny_copy_training(steps=6, max_pairs=120, batch_tokens=200, eval_every=3, seed=1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny_run(tmp_path_factory, "trained", TINY)


@pytest.fixture
def workdir(tmp_path, trained, monkeypatch):
    """A scratch folder with a run ("run"), an empty folder ("empty") and a file ("afile"); the cwd."""
    shutil.copytree(trained, tmp_path / "run")
    (tmp_path / "empty").mkdir()
    (tmp_path / "afile").write_text("not a directory\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _snapshot(root):
    """Every path under `root` with its size and modification time."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            stat = os.stat(path)
            found[os.path.relpath(path, root)] = (stat.st_size, stat.st_mtime_ns)
    return found


NO_GPU = not autograd.cuda_available()
BAD = [
    # train: every number out of range, refused before any work
    (["train", "--task", "copy", "--steps", "0"], "--steps"),
    (["train", "--task", "copy", "--steps", "-5"], "--steps"),
    (["train", "--task", "copy", "--epochs", "0"], "--epochs"),
    (["train", "--task", "copy", "--eval-every", "0"], "--eval-every"),
    (["train", "--task", "copy", "--warmup", "0"], "--warmup"),
    (["train", "--task", "copy", "--d-model", "0"], "--d-model"),
    (["train", "--task", "copy", "--d-model", "100000000"], "--d-model"),
    (["train", "--task", "copy", "--heads", "0"], "--heads"),
    (["train", "--task", "copy", "--d-model", "16", "--heads", "3"], "--heads"),
    (["train", "--task", "copy", "--layers", "0"], "--layers"),
    (["train", "--task", "copy", "--d-ff", "-1"], "--d-ff"),
    (["train", "--task", "copy", "--batch-tokens", "0"], "--batch-tokens"),
    (["train", "--task", "copy", "--max-len", "0"], "--max-len"),
    (["train", "--task", "copy", "--min-freq", "0"], "--min-freq"),
    (["train", "--task", "copy", "--max-pairs", "0"], "--max-pairs"),
    (["train", "--task", "copy", "--max-minutes", "0"], "--max-minutes"),
    (["train", "--task", "copy", "--max-minutes", "nan"], "--max-minutes"),
    (["train", "--task", "copy", "--lr", "nan"], "--lr"),
    (["train", "--task", "copy", "--lr", "inf"], "--lr"),
    (["train", "--task", "copy", "--lr", "-1"], "--lr"),
    (["train", "--task", "copy", "--dropout", "1"], "--dropout"),
    (["train", "--task", "copy", "--label-smoothing", "2"], "--label-smoothing"),
    (["train", "--task", "copy", "--seed", "-1"], "--seed"),
    (["train", "--task", "copy", "--progress-every", "-1"], "--progress-every"),
    # train: filters that leave no data (today's infinite loop)
    (["train", "--task", "copy", "--max-len", "2", "--out", "new"], "--max-len"),
    (["train", "--task", "copy", "--max-len", "3", "--out", "new"], "--max-len"),
    (["train", "--task", "spa-eng", "--max-len", "1", "--out", "new"], "--max-len"),
    (["train", "--task", "spa-eng", "--max-pairs", "2", "--out", "new"], "--max-pairs"),
    # train: run directories
    (["train", *TINY, "--out", "run"], "--resume run"),
    (["train", *TINY, "--out", "afile"], "afile"),
    (["train", *TINY, "--out", "afile/sub"], "afile"),
    (["train", "--resume", "run", "--d-model", "8"], "--d-model"),
    (["train", "--resume", "run", "--out", "elsewhere"], "--out"),
    (["train", "--resume", "run", "--steps", "2"], "--steps"),
    (["train", "--resume", "missing"], "missing"),
    (["train", "--resume", "empty"], "empty"),
    (["train", "--resume", "afile"], "afile"),
    (["train", *TINY, "--out", ""], "--out"),
    # translate, evaluate
    (["translate", "--checkpoint", "run", "--beam", "0", "1 2"], "--beam"),
    (["translate", "--checkpoint", "missing", "1 2"], "missing"),
    (["translate", "--checkpoint", "afile", "1 2"], "afile"),
    (["translate", "--checkpoint", "empty", "1 2"], "empty"),
    (["evaluate", "--checkpoint", "run", "--max-sentences", "0"], "--max-sentences"),
    (["evaluate", "--checkpoint", "run", "--beam", "100"], "--beam"),
    (["evaluate", "--checkpoint", "missing"], "missing"),
    (["translate", "--checkpoint", "", "1 2"], "--checkpoint"),
    # plot, graph, step, bench
    (["plot", "--positional", "--out", "pe.png", "--max-len", "0"], "--max-len"),
    (["plot", "--positional", "--out", "pe.png", "--d-model", "100000000"], "--d-model"),
    (["plot", "--positional", "--out", "pe.png", "--dpi", "5"], "--dpi"),
    (["plot", "run"], "--out"),
    (["plot", "run", "--out", ""], "--out"),
    (["graph", "attention", "--out", " "], "--out"),
    (["plot", "empty", "--out", "curves.png"], "empty"),
    (["graph", "attention", "--out", "g.svg", "--d-model", "7", "--heads", "2"], "--heads"),
    (["graph", "attention", "--out", "g.svg", "--seed", "-1"], "--seed"),
    (["graph", "attention", "--out", "g.svg", "--checkpoint", "empty"], "empty"),
    (["graph", "attention", "--out", "g.xyz"], "--out"),
    (["step", "attention", "--seed", "-1"], "--seed"),
    (["step", "attention", "--d-model", "6", "--heads", "4"], "--heads"),
    (["step", "attention", "--seq-len", "0"], "--seq-len"),
    (["bench", "--warmup", "0"], "--warmup"),
    (["bench", "--steps", "0"], "--steps"),
    (["bench", "--repeat", "-1"], "--repeat"),
    # output files: checked before any work (the folder, a file in the way, the extension)
    (["graph", "attention", "--out", "afile/g.svg"], "afile is a file, not a folder"),
    (["graph", "attention", "--out", "missing/g.svg"], "missing does not exist"),
    (["explore", "attention", "--out", "afile/e.html"], "afile is a file"),
    (["explore", "attention", "--out", "e.txt"], ".html"),
    (["plot", "--positional", "--out", "pe.xyz"], ".png"),
    (["plot", "--positional", "--out", "empty/"], "is a directory"),
    (["plot", "--positional", "--out", "missing/"], "names a folder"),
    (["plot", "--positional", "--out", "afile/../pe.png"], "afile is a file"),
    (["plot", "--positional", "--out", "missing/pe.png"], "missing does not exist"),
    (["translate", "--checkpoint", "run", "--attention-plot", "missing/a.png", "1 2"], "--attention-plot"),
    (["translate", "--checkpoint", "run", "--attention-plot", "a.xyz", "1 2"], "--attention-plot"),
    (["step", "attention", "--gif", "steps.png"], ".gif"),
    (["export", "--checkpoint", "run", "--out", "afile/m.pt"], "afile is a file"),
    (["export", "--checkpoint", "run", "--out", ""], "--out"),
    # numbers and seeds of every command
    (["explore", "attention", "--out", "e.html", "--seed", "-5"], "--seed"),
    (["train", "--task", "copy", "--progress-every", "nan"], "--progress-every"),
    (["evaluate", "--checkpoint", "run", "--beam", "1,1"], "once"),
    # options that would do nothing where they are given
    (["graph", "attention", "--out", "g.svg", "--layers", "5"], "--layers does not apply to attention"),
    (["explore", "encoder-layer", "--out", "e.html", "--layers", "3"], "--layers does not apply"),
    (["explore", "mlp", "--out", "e.html", "--heads", "4"], "--heads does not apply to the mlp"),
    (["step", "mlp", "--heads", "3"], "--heads does not apply to the mlp"),
    (["plot", "run", "--out", "curves.png", "--max-len", "5"], "--max-len does not apply"),
    (["train", "--task", "copy", "--vocab-size", "100", "--out", "new"], "--vocab-size does not apply"),
    (["tour", "--out", "new", "--device", "cuda"], "--device does not apply"),
]
if NO_GPU:
    BAD += [
        (["train", *TINY, "--device", "cuda", "--out", "new"], "cuda"),
        (["translate", "--checkpoint", "run", "--device", "cuda", "1 2"], "cuda"),
        (["evaluate", "--checkpoint", "run", "--device", "cuda"], "cuda"),
        (["bench", "train", "--config", "tiny", "--device", "cuda", "--no-torch", "--out", "new"], "needs CuPy"),
    ]


@pytest.mark.parametrize("args, named", BAD, ids=[" ".join(a)[:80] for a, _ in BAD])
def test_bad_invocation_is_one_clean_line_and_touches_nothing(workdir, args, named):
    before = _snapshot(workdir)
    assert_clean_error(run_cli(*args), named)
    assert _snapshot(workdir) == before


def test_every_option_has_help_and_every_help_runs():
    for name, command in main.commands.items():
        assert command.help, name
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"{name} {param.opts[0]} has no help text"
        result = run_cli(name, "--help")
        assert result.exit_code == 0, result.output


def test_train_help_shows_the_defaults():
    text = "".join(run_cli("train", "--help").output.split())  # without the line wrapping
    assert "[default:spa-eng2100,eng-spa1800,copy/reverse1500]" in text
    assert "--progress-every" in text and "[default:10.0;" in text


def test_overwrite_says_what_it_replaces_and_leaves_other_files(workdir):
    (workdir / "run" / "checkpoint_notes.txt").write_text("mine\n", encoding="utf-8")
    result = run_cli("train", *TINY, "--out", "run", "--overwrite")
    assert result.exit_code == 0, result.output
    assert "the run in run (copy, step 6 of 6) is replaced at this run's first checkpoint" in result.output
    with open(workdir / "run" / "log.jsonl", encoding="utf-8") as f:
        assert [json.loads(line)["step"] for line in f] == [3, 6]  # the old rows are gone, not appended to
    assert (workdir / "run" / "checkpoint_notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert len(list((workdir / "run").glob("checkpoint-*.npz"))) == 1  # the old run's arrays went with its JSON


def test_overwrite_keeps_the_old_run_until_the_new_one_has_a_checkpoint(workdir, monkeypatch):
    """Stopped before its first checkpoint (here: its loss turns NaN at step 2), the new run leaves the old one whole."""
    from autograd import Tensor
    from tinygrad_tf.train import Trainer

    real_step = Trainer.train_step

    def diverging(self, batch):
        loss = real_step(self, batch)
        return Tensor(float("nan")) if self.step == 2 else loss

    monkeypatch.setattr(Trainer, "train_step", diverging)
    before = _snapshot(workdir / "run")
    assert_clean_error(run_cli("train", *TINY, "--out", "run", "--overwrite"), "became nan at step 2", "was not saved")
    after = _snapshot(workdir / "run")
    assert {k: v for k, v in after.items() if k != ".lock"} == before
    assert checkpoint.load(str(workdir / "run"))[1]["state"]["step"] == 6


def test_a_run_stopped_before_its_first_step_says_nothing_was_saved(workdir):
    before = _snapshot(workdir / "run")
    line = assert_clean_error(run_cli("train", *TINY, "--out", "run", "--overwrite", "--max-minutes", "1e-9"),
                              "nothing trained, nothing saved", "left as it was")
    assert _snapshot(workdir / "run") == before, line
    assert_clean_error(run_cli("train", *TINY, "--out", "fresh", "--max-minutes", "1e-9"), "nothing saved")
    assert not (workdir / "fresh").exists()  # the folder it made for the run is gone again


def test_a_new_run_that_fails_before_saving_leaves_no_empty_folder(workdir, monkeypatch):
    from autograd import Tensor
    from tinygrad_tf.train import Trainer

    monkeypatch.setattr(Trainer, "train_step", lambda self, batch: Tensor(float("nan")))
    assert_clean_error(run_cli("train", *TINY, "--out", "fresh"), "became nan")
    assert not (workdir / "fresh").exists()


def test_a_picture_name_without_an_extension_is_written_and_named_as_png(workdir):
    result = run_cli("plot", "--positional", "--out", "pe")
    assert result.exit_code == 0, result.output
    assert "wrote pe.png" in result.output and (workdir / "pe.png").is_file()


def test_a_live_lock_refuses_a_second_process(workdir):
    lock = workdir / "run" / ".lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "now"}), encoding="utf-8")
    before = _snapshot(workdir)
    assert_clean_error(run_cli("train", "--resume", "run", "--steps", "9"), "in use", str(os.getpid()))
    assert_clean_error(run_cli("train", *TINY, "--out", "run", "--overwrite"), "in use")
    assert _snapshot(workdir) == before


def test_a_stale_lock_is_taken_over(workdir):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (workdir / "run" / ".lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}), encoding="utf-8")
    result = run_cli("train", "--resume", "run", "--steps", "7")
    assert result.exit_code == 0, result.output
    assert f"left by process {dead.pid}, which is no longer running" in result.output
    assert not (workdir / "run" / ".lock").exists()  # released at the end
    assert checkpoint.load(str(workdir / "run"))[1]["state"]["step"] == 7


def test_leftovers_of_an_interrupted_save_are_cleaned(workdir):
    run = workdir / "run"
    leftovers = ["checkpoint.json.tmp-4242", "checkpoint-0123456789abcdef.npz", "checkpoint-0123456789abcdef.npz.tmp-17"]
    for name in leftovers:
        (run / name).write_bytes(b"partial")
    result = run_cli("train", "--resume", "run", "--steps", "7")
    assert result.exit_code == 0, result.output
    assert all(name in result.output for name in leftovers)
    assert not any((run / name).exists() for name in leftovers)
    assert checkpoint.load(str(run))[1]["state"]["step"] == 7


def test_log_rows_after_the_checkpoint_are_not_repeated(workdir):
    """A run stopped between writing a log row and saving: the resumed run writes that row once."""
    log = workdir / "run" / "log.jsonl"
    rows = log.read_text(encoding="utf-8").splitlines()
    ahead = dict(json.loads(rows[-1]), step=9)
    log.write_text("\n".join(rows + [json.dumps(ahead), '{"step": 1'] ) + "\n", encoding="utf-8")
    result = run_cli("train", "--resume", "run", "--steps", "9")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["step"] for line in log.read_text(encoding="utf-8").splitlines()] == [3, 6, 9]


def test_an_unexpected_error_is_one_line_with_a_hint(workdir, monkeypatch):
    translate_command = importlib.import_module("tinygrad_tf.cli.translate")  # the module, not the command

    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(translate_command, "load_translator", broken)
    line = assert_clean_error(run_cli("translate", "--checkpoint", "run", "1 2"), "internal error: KeyError", "surprise")
    assert "TINYGRAD_TF_TRACEBACK=1" in line


def test_resume_from_a_checkpoint_saved_before_the_first_step(workdir):
    from tinygrad_tf import TrainConfig, Trainer

    config = TrainConfig.for_task("copy", steps=3, d_model=16, heads=2, layers=1, d_ff=32, max_pairs=60, eval_every=3)
    Trainer(config, out=str(workdir / "early"), log=lambda *a: None).save()  # as a Ctrl-C before step 1 leaves it
    result = run_cli("train", "--resume", "early")
    assert result.exit_code == 0, result.output
    assert "resuming early at step 0 of 3" in result.output
    assert checkpoint.load(str(workdir / "early"))[1]["state"]["step"] == 3


def test_ctrl_c_outside_training_is_the_shells_code_without_a_traceback(workdir, monkeypatch):
    translate_command = importlib.import_module("tinygrad_tf.cli.translate")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(translate_command, "load_translator", interrupted)
    result = run_cli("translate", "--checkpoint", "run", "1 2")
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output and "Traceback" not in result.output and "Aborted" not in result.output


def test_an_os_error_reads_as_file_and_reason_not_errno(workdir):
    (workdir / "run" / "log.jsonl").unlink()
    (workdir / "run" / "log.jsonl").mkdir()  # the log is a folder: the first evaluation cannot append to it
    line = assert_clean_error(run_cli("train", "--resume", "run", "--steps", "9"), "log.jsonl: is a directory")
    assert "Errno" not in line
