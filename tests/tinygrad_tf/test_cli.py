"""The `tinygrad-tf` command line: train, translate (arguments and stdin), evaluate, and clean one-line errors."""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest
from helpers import assert_clean_error, edit_checkpoint_meta, run_cli, tiny_copy_training, train_tiny_run

from tinygrad_tf import Trainer, translate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TINY = tiny_copy_training(steps=24, max_pairs=200, batch_tokens=200, eval_every=12, seed=2)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_tiny_run(tmp_path_factory, "cli", TINY, folder="copy")


def test_train_writes_checkpoint_and_log(run_dir):
    with open(os.path.join(run_dir, "checkpoint.json"), encoding="utf-8") as f:
        meta = json.load(f)
    assert meta["state"]["step"] == 24
    config = meta["config"]
    assert (config["task"], config["d_model"], config["heads"], config["layers"], config["d_ff"]) == ("copy", 16, 2, 1, 32)
    assert (config["batch_tokens"], config["warmup"], config["seed"], config["max_pairs"]) == (200, 10, 2, 200)
    with open(os.path.join(run_dir, "log.jsonl"), encoding="utf-8") as f:
        assert [json.loads(line)["step"] for line in f] == [12, 24]


def test_translate_with_arguments_and_stdin(run_dir):
    sentences = ["1 2 3", "4 5 6 7 8 9", "0 0 1 1"]
    expected = [translate([s], run_dir)[0] for s in sentences]  # the Python API, one line at a time as the CLI
    result = run_cli("translate", "--checkpoint", run_dir, *sentences)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == expected
    result = run_cli("translate", "--checkpoint", run_dir, input="\n".join(sentences) + "\n\n")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == expected + [""]  # the blank line stays a blank line
    result = run_cli("translate", "--checkpoint", run_dir, "--beam", "3", *sentences)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == translate(sentences, run_dir, beam=3)


def test_translate_keeps_lines_aligned_and_reports_bad_ones(run_dir):
    ok = translate(["1 2", "3 4 5"], run_dir)
    too_long = " ".join(["7"] * 200)
    stdin = b"1 2\n\n\xff\xfe oops\n" + too_long.encode() + b"\n3 4 5\n"
    result = run_cli("translate", "--checkpoint", run_dir, input=stdin)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stdout.splitlines() == [ok[0], "", "", "", ok[1]]  # one output line per input line
    assert "line 3: not valid UTF-8 (byte 0xff at position 0)" in result.stderr
    assert "line 4: 200 tokens, more than the" in result.stderr
    assert result.stderr.splitlines()[-1] == "Error: 2 of 5 lines could not be translated (see above)"


def test_translate_writes_each_line_as_it_is_ready(run_dir):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    process = subprocess.Popen([sys.executable, "-m", "tinygrad_tf", "translate", "--checkpoint", run_dir],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        process.stdin.write("1 2 3\n")
        process.stdin.flush()
        first = process.stdout.readline()  # stdin is still open: the line came without waiting for the end
        assert first.rstrip("\n") == translate(["1 2 3"], run_dir)[0]
        process.stdin.close()
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_evaluate_prints_bleu(run_dir):
    result = run_cli("evaluate", "--checkpoint", run_dir, "--max-sentences", "30")
    assert result.exit_code == 0, result.output
    metrics = Trainer.resume(run_dir, log=lambda *a: None).evaluate("test", 30)
    assert f"BLEU = {metrics['bleu']:.2f}" in result.output
    assert "reference:" in result.output and "model:" in result.output


def test_resume_from_the_command_line(run_dir, tmp_path):
    copy = str(tmp_path / "copy")
    shutil.copytree(run_dir, copy)
    result = run_cli("train", "--resume", copy, "--steps", "30")
    assert result.exit_code == 0, result.output
    assert "step 24" in result.output
    with open(os.path.join(copy, "checkpoint.json"), encoding="utf-8") as f:
        assert json.load(f)["state"]["step"] == 30


def test_missing_checkpoint_dir(tmp_path):
    missing = str(tmp_path / "no_such_run")
    assert_clean_error(run_cli("translate", "--checkpoint", missing, "hola"), missing)
    assert_clean_error(run_cli("evaluate", "--checkpoint", missing), missing)
    assert_clean_error(run_cli("train", "--resume", missing), missing)


def test_corrupt_checkpoint(run_dir, tmp_path):
    broken = str(tmp_path / "broken")
    shutil.copytree(run_dir, broken)
    (npz,) = glob.glob(os.path.join(broken, "*.npz"))
    with open(npz, "r+b") as f:
        f.truncate(os.path.getsize(npz) // 2)
    assert_clean_error(run_cli("translate", "--checkpoint", broken, "1 2 3"), npz)
    assert_clean_error(run_cli("evaluate", "--checkpoint", broken), npz)
    assert_clean_error(run_cli("train", "--resume", broken), npz)
    with open(os.path.join(broken, "checkpoint.json"), "w", encoding="utf-8") as f:
        f.write("{not json")
    assert_clean_error(run_cli("translate", "--checkpoint", broken, "1 2 3"), os.path.join(broken, "checkpoint.json"))


def test_checkpoint_with_a_config_of_the_wrong_type(run_dir, tmp_path):
    edited = str(tmp_path / "edited")
    shutil.copytree(run_dir, edited)
    meta_path = os.path.join(edited, "checkpoint.json")
    edit_checkpoint_meta(edited, lambda meta: meta["config"].update(d_model="16"))
    assert_clean_error(run_cli("translate", "--checkpoint", edited, "1 2 3"), meta_path, "d_model")
    assert_clean_error(run_cli("train", "--resume", edited), meta_path, "d_model")


def test_train_takes_the_decay_of_the_rate(tmp_path):
    out = str(tmp_path / "linear")
    result = run_cli("train", *tiny_copy_training(steps=6, max_pairs=60, batch_tokens=120, eval_every=6, warmup=2),
                     "--decay", "linear", "--out", out)
    assert result.exit_code == 0, result.output
    with open(os.path.join(out, "checkpoint.json"), encoding="utf-8") as f:
        meta = json.load(f)
    assert meta["config"]["decay"] == meta["state"]["schedule"]["decay"] == "linear"
    assert meta["state"]["schedule"]["total_steps"] == 6
    with open(os.path.join(out, "log.jsonl"), encoding="utf-8") as f:
        last_rate = json.loads(f.readlines()[-1])["lr"]
    peak = 16 ** -0.5 * 2 ** -0.5  # d_model 16, warmup 2: the line ends at peak / (6 - 2 + 1)
    assert last_rate == pytest.approx(peak / 5, rel=1e-9)


def test_train_min_freq_keeps_only_words_seen_that_often(tmp_path):
    vocabularies = {}
    for min_freq in ("1", "1000000"):  # every digit, then none: only the four special entries are left
        out = str(tmp_path / min_freq)
        result = run_cli("train", *tiny_copy_training(steps=2, max_pairs=60, batch_tokens=120, eval_every=2),
                         "--min-freq", min_freq, "--out", out)
        assert result.exit_code == 0, result.output
        with open(os.path.join(out, "checkpoint.json"), encoding="utf-8") as f:
            meta = json.load(f)
        assert meta["config"]["min_freq"] == int(min_freq)
        vocabularies[min_freq] = meta["src_vocab"]
    assert vocabularies["1000000"] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert set(vocabularies["1"]) > set(vocabularies["1000000"]) and "7" in vocabularies["1"]


def test_unknown_task(tmp_path):
    result = run_cli("train", "--task", "klingon", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert_clean_error(result, "--task", "klingon")
    assert not os.path.exists(tmp_path / "x")


@pytest.mark.parametrize("args, option", [
    (["train", "--task", "copy", "--steps", "many"], "--steps"),
    (["train", "--task", "copy", "--dropout", "lots"], "--dropout"),
    (["train", "--task", "copy", "--device", "tpu"], "--device"),
    (["train", "--task", "copy", "--decay", "cosine"], "--decay"),
    (["translate", "--checkpoint", ".", "--beam", "0", "x"], "--beam"),
    (["evaluate", "--checkpoint", ".", "--split", "train"], "--split"),
])
def test_bad_option_value(args, option):
    result = run_cli(*args)
    assert result.exit_code == 2
    assert_clean_error(result, option)


def test_python_dash_m_help():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "tinygrad_tf", "--help"], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    for command in ("train", "translate", "evaluate"):
        assert command in done.stdout


def test_python_dash_m_error_is_one_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    missing = str(tmp_path / "nothing")
    done = subprocess.run([sys.executable, "-m", "tinygrad_tf", "translate", "--checkpoint", missing, "hola"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("Error:") and missing in done.stderr
