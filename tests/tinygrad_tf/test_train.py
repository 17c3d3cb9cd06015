"""Training on the copy task: the loss falls, decoding copies, resume is exact, bad checkpoints are clear errors.

The model sizes are tiny so the whole file runs in well under a minute on two cores.
"""
import glob
import json
import math
import os
import shutil
import signal

import numpy as np
import pytest

from helpers import edit_checkpoint_meta

from tinygrad_tf import TrainConfig, Trainer, load_translator, translate
from tinygrad_tf import checkpoint
from autograd import Tensor
from tinygrad_tf.checkpoint import CheckpointError
from tinygrad_tf.data import NoDataError, make_batches
from tinygrad_tf.interrupt import Interrupted
from tinygrad_tf.train import TrainingDiverged


def _quiet(*args, **kwargs):
    pass


def _encoded(trainer, pairs):
    return [(trainer.src_vocab.encode_source(s), trainer.tgt_vocab.encode(t)) for s, t in pairs]


# ---- the copy task learns ----------------------------------------------------------

# One layer, d_model 64, 800 steps: about 20 s on two idle CPU cores. Over seeds 0-4 greedy
# exact match on the test split was 94-100% and beam's 93-100%; the asserts ask for 80%.
COPY = dict(steps=800, d_model=64, heads=4, layers=1, d_ff=128, max_pairs=3000, batch_tokens=600,
            warmup=100, lr=0.5, eval_every=400, bleu_sentences=50, seed=0)


@pytest.fixture(scope="module")
def copy_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("copy_run"))
    trainer = Trainer(TrainConfig.for_task("copy", **COPY), out=out, log=_quiet)
    valid = trainer.splits.valid[:200]
    before = trainer.loss_on(_encoded(trainer, valid))
    trainer.fit(progress=False)
    after = trainer.loss_on(_encoded(trainer, valid))
    return trainer, out, before, after


def test_copy_loss_falls_well_below_its_start(copy_run):
    trainer, _, before, after = copy_run
    vocab = len(trainer.tgt_vocab)
    assert before > 0.5 * math.log(vocab)  # an untrained model is not far from uniform
    assert after < 0.15 * before
    assert trainer.step == COPY["steps"]


def test_copy_greedy_decoding_returns_the_input(copy_run):
    trainer, _, _, _ = copy_run
    sources = [s for s, _ in trainer.splits.test[:200]]
    hyps = trainer.translator().translate_tokens(sources)
    exact = np.mean([h == s for h, s in zip(hyps, sources)])
    assert exact >= 0.8, f"greedy copies only {exact:.0%} of the test sequences"
    assert trainer.evaluate("test", 200)["exact"] == pytest.approx(exact)


def test_copy_beam_decoding_returns_the_input(copy_run):
    trainer, _, _, _ = copy_run
    sources = [s for s, _ in trainer.splits.test[:60]]
    hyps = trainer.translator().translate_tokens(sources, beam=3)
    exact = np.mean([h == s for h, s in zip(hyps, sources)])
    assert exact >= 0.8, f"beam search copies only {exact:.0%} of the test sequences"


def test_python_translate_api_from_the_checkpoint(copy_run):
    trainer, out, _, _ = copy_run
    sources = [" ".join(s) for s, _ in trainer.splits.test[:40]]
    outputs = translate(sources, out)
    assert len(outputs) == len(sources)
    assert np.mean([o == s for o, s in zip(outputs, sources)]) >= 0.8
    # the checkpoint holds the final model: the same translations as the trainer in memory
    assert outputs == trainer.translator().translate(sources)


def test_log_jsonl(copy_run):
    trainer, out, before, _ = copy_run
    with open(os.path.join(out, "log.jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    assert [r["step"] for r in records] == [400, 800]
    for r in records:
        assert {"step", "valid_loss", "valid_bleu", "train_loss", "lr"} <= set(r)
        assert 0.0 <= r["valid_bleu"] <= 100.0 and r["valid_loss"] >= 0.0
    # the last line's numbers are the final model's, recomputed here
    n = COPY["bleu_sentences"]
    assert records[-1]["valid_loss"] == pytest.approx(trainer.loss_on(_encoded(trainer, trainer.splits.valid[:n])), abs=1e-4)
    assert records[-1]["valid_bleu"] == pytest.approx(trainer.evaluate("valid", n)["bleu"], abs=0.01)
    # every logged loss shows the training: far below the untrained model's (by step 400 the copy task is
    # learnt, and the two logged losses differ by noise, so their order says nothing)
    assert all(r["valid_loss"] < 0.15 * before for r in records)


# ---- resume ------------------------------------------------------------------------

# Dropout and label smoothing on, so resuming must restore the per-step dropout seeding too.
TINY = dict(d_model=16, heads=2, layers=1, d_ff=32, dropout=0.3, label_smoothing=0.1, max_pairs=60,
            batch_tokens=120, warmup=5, lr=1.0, eval_every=1000, bleu_sentences=10, seed=3)


def _train_steps(trainer, n):
    """n manual steps; returns each step's loss and the parameters after each step."""
    losses, params = [], []
    for batch in trainer.batches():
        if len(losses) == n:
            break
        losses.append(float(trainer.train_step(batch).item()))
        params.append([p.numpy() for p in trainer.model.parameters()])
    return losses, params


def test_resume_gives_the_same_next_loss(tmp_path):
    probe = Trainer(TrainConfig.for_task("copy", steps=1, **TINY), log=_quiet)
    per_epoch = len(make_batches(probe.train_pairs, TINY["batch_tokens"], seed=TINY["seed"]))
    assert per_epoch >= 3
    stops = [2, per_epoch, per_epoch + 2]  # inside the first epoch, at its end, inside the second

    straight = Trainer(TrainConfig.for_task("copy", steps=max(stops) + 1, **TINY), log=_quiet)
    losses, params = _train_steps(straight, max(stops) + 1)
    assert len(set(losses)) == len(losses)

    for n in stops:
        out = str(tmp_path / f"run{n}")
        Trainer(TrainConfig.for_task("copy", steps=n, **TINY), out=out, log=_quiet).fit(progress=False)
        resumed = Trainer.resume(out, log=_quiet, steps=n + 1)
        assert resumed.step == n
        (loss,), (after,) = _train_steps(resumed, 1)
        assert loss == pytest.approx(losses[n], rel=1e-6, abs=1e-7), f"resumed at step {n}"
        for a, b in zip(after, params[n]):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_resume_keeps_the_architecture_but_takes_new_steps(tmp_path):
    out = str(tmp_path / "run")
    Trainer(TrainConfig.for_task("copy", steps=3, **TINY), out=out, log=_quiet).fit(progress=False)
    resumed = Trainer.resume(out, log=_quiet, steps=5, d_model=999, eval_every=2)
    assert resumed.config.steps == 5 and resumed.config.eval_every == 2
    assert resumed.config.d_model == TINY["d_model"]
    resumed.fit(progress=False)
    assert resumed.step == 5
    assert checkpoint.load(out)[1]["state"]["step"] == 5


@pytest.fixture
def saved_run(tmp_path):
    out = str(tmp_path / "run")
    Trainer(TrainConfig.for_task("copy", steps=2, **TINY), out=out, log=_quiet).fit(progress=False)
    return out


@pytest.mark.parametrize("edit", [
    lambda m: m["config"].update(d_model=24),  # arrays that do not fit the architecture
    lambda m: m["tgt_vocab"].append("extra"),  # a vocabulary that does not fit the embeddings
    lambda m: m.pop("state"),
    lambda m: m["config"].update(unknown_field=1),
    lambda m: m.pop("src_vocab"),
    lambda m: m["config"].update(d_model="16"),
    lambda m: m["config"].update(steps=None),
    lambda m: m["config"].update(task="klingon"),
    lambda m: m["config"].update(device="tpu"),
], ids=["d_model", "vocab", "no-state", "unknown-field", "no-vocab", "wrong-type", "null-steps", "task", "device"])
def test_resume_with_a_mismatched_checkpoint(saved_run, edit):
    edit_checkpoint_meta(saved_run, edit)
    with pytest.raises(CheckpointError) as info:
        Trainer.resume(saved_run, log=_quiet)
    assert saved_run in str(info.value)


def test_a_checkpoint_with_non_finite_weights_is_refused_by_name(saved_run):
    """Training never saves them (a diverged run keeps its last good checkpoint): such a file was changed by hand."""
    arrays, meta = checkpoint.load(saved_run)
    name = next(k for k in arrays if k.startswith("model/") and k.endswith("weight"))
    arrays[name] = arrays[name].copy()
    arrays[name].flat[0] = np.nan
    checkpoint.save(saved_run, arrays, {k: v for k, v in meta.items() if not k.startswith("arrays_")})
    for load in (load_translator, lambda d: Trainer.resume(d, log=_quiet)):
        with pytest.raises(CheckpointError, match=f"{saved_run}: weight {name[len('model/'):]} holds nan or inf"):
            load(saved_run)


def test_resume_with_arrays_from_another_run(saved_run, tmp_path):
    other = str(tmp_path / "other")
    Trainer(TrainConfig.for_task("copy", steps=1, **dict(TINY, seed=4)), out=other, log=_quiet).fit(progress=False)
    (mine,), (theirs,) = glob.glob(os.path.join(saved_run, "*.npz")), glob.glob(os.path.join(other, "*.npz"))
    shutil.copyfile(theirs, mine)
    with pytest.raises(CheckpointError) as info:
        Trainer.resume(saved_run, log=_quiet)
    assert mine in str(info.value)
    with pytest.raises(CheckpointError):
        load_translator(saved_run)


@pytest.mark.parametrize("edit", [
    lambda m: m["config"].update(layers=2),
    lambda m: m["config"].update(heads=[2]),
    lambda m: m["src_vocab"].pop(),
], ids=["layers", "wrong-type", "vocab"])
def test_load_translator_with_a_mismatched_checkpoint(saved_run, edit):
    edit_checkpoint_meta(saved_run, edit)
    with pytest.raises(CheckpointError) as info:
        load_translator(saved_run)
    assert saved_run in str(info.value)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_finishes_the_step_and_saves(tmp_path, signum):
    out = str(tmp_path / "run")
    trainer = Trainer(TrainConfig.for_task("copy", steps=50, **TINY), out=out, log=_quiet)
    real_step, calls = trainer.train_step, []

    def signalled_during_the_fourth(batch):
        calls.append(1)
        if len(calls) == 4:
            os.kill(os.getpid(), signum)  # arrives mid-step: the step still completes
        return real_step(batch)

    trainer.train_step = signalled_during_the_fourth
    with pytest.raises(Interrupted) as info:
        trainer.fit(progress=False)
    assert info.value.exit_code == 128 + signum and info.value.step == 4
    assert signal.getsignal(signum) is not None and signal.getsignal(signal.SIGINT) == signal.default_int_handler
    resumed = Trainer.resume(out, log=_quiet)
    assert resumed.step == 4
    for a, b in zip(resumed.model.parameters(), trainer.model.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("stop, raised", [(KeyboardInterrupt, KeyboardInterrupt),
                                          (lambda: BrokenPipeError(32, "Broken pipe"), Interrupted)],
                         ids=["hard interrupt", "output closed"])
def test_a_stop_in_the_middle_of_a_step_keeps_the_last_checkpoint(tmp_path, stop, raised):
    out = str(tmp_path / "run")
    Trainer(TrainConfig.for_task("copy", steps=2, **TINY), out=out, log=_quiet).fit(progress=False)
    trainer = Trainer.resume(out, log=_quiet, steps=50)

    def half_done(batch):
        trainer.schedule.step()  # state already changed when the interrupt arrives
        raise stop()

    trainer.train_step = half_done
    with pytest.raises(raised) as info:
        trainer.fit(progress=False)
    assert getattr(info.value, "saved", False) is False
    assert checkpoint.load(out)[1]["state"]["step"] == 2  # not overwritten with a half-applied step
    assert Trainer.resume(out, log=_quiet).schedule.steps == 2


def _failing_log(when):
    """A log that raises BrokenPipeError (the reader of the output is gone) on the first line for which `when` holds."""
    def log(line=""):
        if when(line):
            raise BrokenPipeError(32, "Broken pipe")

    return log


def test_closed_output_saves_after_a_whole_step_and_resumes_exactly(tmp_path):
    out, straight = str(tmp_path / "run"), str(tmp_path / "straight")
    config = TrainConfig.for_task("copy", **dict(TINY, steps=6, eval_every=3))
    Trainer(config, out=straight, log=_quiet).fit(progress=False)
    trainer = Trainer(config, out=out,
                      log=_failing_log(lambda line: "step 3:" in line))
    with pytest.raises(Interrupted) as info:
        trainer.fit(progress=False)
    assert info.value.signum == signal.SIGPIPE and info.value.saved and info.value.step == 3
    meta = checkpoint.load(out)[1]
    assert meta["state"]["step"] == 3
    with open(os.path.join(out, "log.jsonl"), encoding="utf-8") as f:
        assert [json.loads(line)["step"] for line in f] == [3]  # the row went in before the line that failed
    Trainer.resume(out, log=_quiet).fit(progress=False)
    for name, array in checkpoint.load(straight)[0].items():
        np.testing.assert_array_equal(checkpoint.load(out)[0][name], array, err_msg=name)


def test_closed_output_in_the_last_report_after_the_loop_still_saves(tmp_path):
    """Stopped by --epochs between evaluations: the closing report's line fails; its checkpoint is there."""
    out = str(tmp_path / "run")
    trainer = Trainer(TrainConfig.for_task("copy", **dict(TINY, steps=10**6, epochs=1, eval_every=10**6)), out=out,
                      log=_failing_log(lambda line: line.startswith("\nstep ")))
    with pytest.raises(Interrupted):
        trainer.fit(progress=False)
    assert checkpoint.load(out)[1]["state"]["step"] == trainer.step > 0


def test_a_stop_request_stands_when_its_note_cannot_be_written():
    from tinygrad_tf.interrupt import StopRequests

    stop = StopRequests(note=_failing_log(lambda line: True))
    with stop:
        os.kill(os.getpid(), signal.SIGTERM)
    assert stop.requested and stop.signum == signal.SIGTERM


def test_config_takes_device_names_as_the_engine_does():
    assert TrainConfig.for_task("copy", device="cpu:0").device == "cpu"
    with pytest.raises(ValueError, match="device: expected one of cpu, cuda, got 'tpu'"):
        TrainConfig.for_task("copy", device="tpu")


def test_a_diverging_loss_stops_without_saving(tmp_path):
    out = str(tmp_path / "run")
    Trainer(TrainConfig.for_task("copy", steps=2, **TINY), out=out, log=_quiet).fit(progress=False)
    before = checkpoint.load(out)[1]["arrays_sha256"]
    trainer = Trainer.resume(out, log=_quiet, steps=5)
    trainer.train_step = lambda batch: Tensor(np.float32("nan"))
    with pytest.raises(TrainingDiverged, match="nan"):
        trainer.fit(progress=False)
    assert checkpoint.load(out)[1]["arrays_sha256"] == before


def test_no_training_data_is_an_error_not_a_hang():
    with pytest.raises(NoDataError) as info:
        Trainer(TrainConfig.for_task("copy", max_len=3), log=_quiet)
    assert info.value.field == "max_len"
    with pytest.raises(NoDataError) as info:
        Trainer(TrainConfig.for_task("spa-eng", max_pairs=2), log=_quiet)
    assert info.value.field == "max_pairs"


def test_a_run_saved_before_the_decay_could_be_chosen_resumes_with_the_papers(tmp_path):
    out = str(tmp_path / "run")
    Trainer(TrainConfig.for_task("copy", steps=6, **dict(TINY, decay="linear")), out=out, log=_quiet).fit(progress=False)

    def as_older_runs_saved(meta):
        del meta["config"]["decay"]
        for key in ("decay", "total_steps"):
            del meta["state"]["schedule"][key]

    edit_checkpoint_meta(out, as_older_runs_saved)
    resumed = Trainer.resume(out, log=_quiet, steps=9)
    assert resumed.config.decay == resumed.schedule.decay == "inverse_sqrt"
    assert TINY["warmup"] < 7  # past the warm-up: 1/sqrt(step 7), where the line would be lower
    assert resumed.schedule.step() == pytest.approx(TINY["d_model"] ** -0.5 * 7 ** -0.5, rel=1e-12)


def test_the_linear_decay_ends_at_the_runs_last_step_also_when_resumed_for_longer(tmp_path):
    out = str(tmp_path / "run")
    trainer = Trainer(TrainConfig.for_task("copy", steps=8, **dict(TINY, decay="linear")), out=out, log=_quiet)
    assert trainer.schedule.total_steps == 8
    trainer.fit(progress=False)
    resumed = Trainer.resume(out, log=_quiet, steps=20)
    assert resumed.schedule.total_steps == 20 and resumed.schedule.steps == 8


def test_config_refuses_an_unknown_decay():
    with pytest.raises(ValueError, match="decay: expected one of inverse_sqrt, linear, got 'cosine'"):
        TrainConfig.for_task("copy", decay="cosine")


@pytest.mark.parametrize("field, value", [("steps", 0), ("warmup", 0), ("lr", float("nan")), ("dropout", 1.0),
                                          ("heads", 3), ("max_minutes", -1.0), ("seed", -1)])
def test_config_refuses_values_out_of_range(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig.for_task("copy", **{field: value})
