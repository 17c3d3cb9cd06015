"""`tinygrad-tf evaluate`: sacreBLEU scores with their signatures, greedy and beam side by side, logged in the run."""
import json
import os
import shutil

import pytest
import sacrebleu
from helpers import assert_clean_error, run_cli, tiny_copy_training, train_tiny_run

from tinygrad_tf import Trainer
from tinygrad_tf.data import detokenize
from tinygrad_tf.plots import read_log

TINY = tiny_copy_training(steps=40, max_pairs=200, batch_tokens=200, eval_every=20, seed=4)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_tiny_run(tmp_path_factory, "evaluate", TINY, folder="copy")


def _log(run_dir):
    with open(os.path.join(run_dir, "log.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_greedy_and_beam_side_by_side_with_sacrebleu_scores(run_dir, tmp_path):
    run = str(tmp_path / "run")
    shutil.copytree(run_dir, run)
    before = _log(run)
    result = run_cli("evaluate", "--checkpoint", run, "--beam", "1,4", "--max-sentences", "25")
    assert result.exit_code == 0, result.output
    trainer = Trainer.resume(run, log=lambda *a: None)
    pairs = trainer.splits.test[:25]
    refs = [detokenize(t) for _, t in pairs]
    for beam, name in ((1, "greedy"), (4, "beam 4")):
        hyps = [detokenize(h) for h in trainer.translator().translate_tokens([s for s, _ in pairs], beam=beam)]
        bleu, chrf = sacrebleu.BLEU(), sacrebleu.CHRF()
        b, c = bleu.corpus_score(hyps, [refs]).score, chrf.corpus_score(hyps, [refs]).score
        row = next(line for line in result.output.splitlines() if line.startswith(name + " "))
        assert row.split()[len(name.split()):][:2] == [f"{b:.2f}", f"{c:.2f}"]
    assert f"BLEU signature: {bleu.get_signature()}" in result.output
    assert f"chrF signature: {chrf.get_signature()}" in result.output
    assert "tok:13a|smooth:exp" in result.output
    # the run's log gains one record per decoder, with the signatures; the training curves ignore them
    records = _log(run)[len(before):]
    assert [(r["event"], r["beam"], r["sentences"]) for r in records] == [("evaluate", 1, 25), ("evaluate", 4, 25)]
    assert all(r["bleu_signature"] == str(bleu.get_signature()) for r in records)
    assert all(r["chrf_signature"] == str(chrf.get_signature()) for r in records)
    assert [r["step"] for r in read_log(run)] == [r["step"] for r in before]


def test_training_logs_sacrebleu_validation_scores(run_dir):
    records = _log(run_dir)
    assert [r["step"] for r in records] == [20, 40]
    assert all(r["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp") for r in records)
    metrics = Trainer.resume(run_dir, log=lambda *a: None).evaluate("valid", 200)
    assert records[-1]["valid_bleu"] == pytest.approx(metrics["bleu"], abs=0.006)


def test_without_the_cache_the_scores_are_the_same(run_dir, tmp_path):
    run = str(tmp_path / "run")
    shutil.copytree(run_dir, run)
    cached = run_cli("evaluate", "--checkpoint", run, "--beam", "1,3", "--max-sentences", "15")
    plain = run_cli("evaluate", "--checkpoint", run, "--beam", "1,3", "--max-sentences", "15", "--no-cache")
    assert cached.exit_code == 0 and plain.exit_code == 0, cached.output + plain.output
    scores = lambda out: [line.split()[:4] for line in out.splitlines() if line.startswith(("greedy", "beam"))]  # noqa: E731
    assert scores(cached.output) == scores(plain.output)
    assert [r["kv_cache"] for r in _log(run)[-4:]] == [True, True, False, False]


@pytest.mark.parametrize("value", ["1,x", "0", "1,1", "65", ""])
def test_bad_beam_lists_are_clean_errors(run_dir, value):
    assert_clean_error(run_cli("evaluate", "--checkpoint", run_dir, "--beam", value), "--beam")
