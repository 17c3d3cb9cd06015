"""The benchmark suite (`tinygrad_tf.bench`, `tinygrad-tf bench`): FLOP count, like-for-like reference, smoke runs.

No timing is asserted: these tests check that the comparison measures the
same thing in both libraries and that the command runs and writes its
results, not how fast anything is.
"""
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from tinygrad_tf.bench import common, get_config, roofline
from tinygrad_tf.bench.common import BenchConfig, make_batch
from tinygrad_tf.cli import main

FAST = ["--steps", "2", "--warmup", "1", "--gemm-size", "128", "--memory-steps", "2", "--repeat", "1"]


def _invoke(*args):
    result = CliRunner().invoke(main, ["bench", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ---- FLOPs -----------------------------------------------------------------------------

def test_flop_count_matches_a_hand_count():
    # batch 2, src 3, tgt 2, d_model 4 in 2 heads (d_k 2), d_ff 8, vocab 10, one layer each side
    config = BenchConfig("hand", d_model=4, heads=2, encoder_layers=1, decoder_layers=1, d_ff=8, vocab=10,
                         batch=2, src_len=3, tgt_len=2)
    encoder = (4 * 2 * 6 * 4 * 4          # q, k, v, out projections: (6 tokens, 4) @ (4, 4)
               + 4 * 2 * 3 * 3 * 2        # scores: 2 sentences x 2 heads of (3, 2) @ (2, 3)
               + 4 * 2 * 3 * 2 * 3        # weights @ V: 4 of (3, 3) @ (3, 2)
               + 2 * 6 * 8 * 4            # linear1: (6, 4) @ (4, 8)
               + 2 * 6 * 4 * 8)           # linear2: (6, 8) @ (8, 4)
    decoder = (4 * 2 * 4 * 4 * 4          # self-attn projections over 4 target tokens
               + 4 * 2 * 2 * 2 * 2        # self-attn scores: 4 of (2, 2) @ (2, 2)
               + 4 * 2 * 2 * 2 * 2        # self-attn weights @ V
               + 2 * 2 * 4 * 4 * 4        # cross-attn q and out projections (target side)
               + 2 * 2 * 6 * 4 * 4        # cross-attn k and v projections of the 6 memory tokens
               + 4 * 2 * 2 * 3 * 2        # cross scores: 4 of (2, 2) @ (2, 3)
               + 4 * 2 * 2 * 2 * 3        # cross weights @ V: 4 of (2, 3) @ (3, 2)
               + 2 * 4 * 8 * 4 + 2 * 4 * 4 * 8)  # feed-forward
    generator = 2 * 4 * 10 * 4
    assert (encoder, decoder, generator) == (1824, 1984, 320)
    flops = roofline.step_flops(config)
    assert flops["forward"] == encoder + decoder + generator == 4128
    assert flops["backward"] == 2 * flops["forward"]
    assert flops["total"] == 3 * 4128


def test_gemm_rate_is_measured():
    rate = roofline.gemm_rate("cpu", size=64, repeat=2)
    assert rate["size"] == 64 and rate["flops_per_s"] > 0 and rate["library"] == "numpy"


def test_batches_are_seeded_and_padded():
    config = get_config("toy")
    src, tgt_in, tgt_out = make_batch(config, seed=3)
    assert src.shape == (64, 12) and tgt_in.shape == tgt_out.shape == (64, 12)
    assert (src == common.PAD_ID).any() and (tgt_out == common.PAD_ID).any()
    assert ((tgt_in == common.PAD_ID) == (tgt_out == common.PAD_ID)).all()
    np.testing.assert_array_equal(src, make_batch(config, seed=3)[0])


# ---- the reference computes what ours computes --------------------------------------------

@pytest.mark.parametrize("attention", ["mha", "manual"])
def test_torch_reference_with_our_weights_gives_our_loss(torch, attention):
    """float64, dropout 0: same loss on a padded batch, and again after one Adam step (same gradients and update)."""
    from tinygrad_tf.bench.train_step import build_ours, build_torch

    config = get_config("tiny", dropout=0.0)
    model, ours_step, (src, _, _) = build_ours(config, dtype="float64")
    assert (src.numpy() == common.PAD_ID).any()
    reference, torch_step = build_torch(config, state=model.state_dict(), attention=attention, dtype=torch.float64)
    for _ in range(2):
        ours, theirs = float(ours_step().item()), float(torch_step().item())
        assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-12)


def test_reference_takes_every_weight_from_ours(torch):
    from tinygrad_tf.interop.torch_model import from_config, load_from_ours

    config = get_config("tiny")
    reference = from_config(config, attention="manual")
    state = {name: p.detach().numpy() for name, p in reference.named_parameters()}
    state.pop("generator.bias")
    with pytest.raises(KeyError, match="generator.bias"):
        load_from_ours(reference, state)


# ---- the command -------------------------------------------------------------------------------

def test_bench_train_smoke(torch, tmp_path):
    out = _invoke("train", "--config", "toy", *FAST, "--out", str(tmp_path))
    assert "ours (numpy)" in out and "torch eager (mha)" in out and "ours/torch tokens/s" in out
    result = _load(tmp_path / "train-toy-cpu.json")
    assert result["config"]["d_model"] == 128 and result["steps"] == 2
    assert set(result["libraries"]) == {"ours", "torch"}
    for lib in result["libraries"].values():
        assert len(lib["times_s"]) == 2
        for key in ("median_s", "target_tokens_per_s", "tokens_per_s", "percent_of_gemm_rate", "first_loss"):
            assert lib[key] > 0, key
    assert result["speed_ratio_ours_over_torch"] > 0
    assert result["flops_per_step"]["total"] == roofline.step_flops(get_config("toy"))["total"]
    assert result["gemm"]["size"] == 128
    for key in ("platform", "processor", "cpu_count", "numpy", "torch", "cupy"):
        assert key in result["machine"], key
    assert result["machine"]["torch"] == torch.__version__.split("+")[0] or result["machine"]["torch"].startswith(torch.__version__.split("+")[0])


def test_bench_memory_smoke(torch, tmp_path):
    out = _invoke("memory", "--config", "tiny", *FAST, "--out", str(tmp_path))
    assert "step peak" in out
    result = _load(tmp_path / "memory-tiny-cpu.json")
    assert set(result["libraries"]) == {"ours", "torch"}
    for lib in result["libraries"].values():
        assert lib["step_peak"] > 0 and lib["rss_after_steps"] > 0 and "growth" in lib
        assert lib["rss_samples"][-1][0] == 2
    assert result["step_peak_ratio_ours_over_torch"] > 0


def test_bench_without_torch_reports_our_numbers(monkeypatch, tmp_path):
    monkeypatch.setattr(common, "torch_or_none", lambda: None)
    runner = CliRunner()
    result = runner.invoke(main, ["bench", "all", "--config", "tiny", *FAST, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "pip install torch" in result.output
    assert "ours (numpy)" in result.output and "torch eager" not in result.output
    assert "matmul 256x256" in result.output  # ops: our times, torch's n/a
    train = _load(tmp_path / "train-tiny-cpu.json")
    assert set(train["libraries"]) == {"ours"} and "pip install torch" in train["torch_note"]
    assert set(_load(tmp_path / "memory-tiny-cpu.json")["libraries"]) == {"ours"}
    assert _load(tmp_path / "ops-cpu.json")["rows"][0]["torch_s"] is None
    assert sorted(os.listdir(tmp_path)) == ["memory-tiny-cpu.json", "ops-cpu.json", "train-tiny-cpu.json"]


# ---- the GPU step --------------------------------------------------------------------------

def test_a_training_step_on_the_gpu_never_waits_for_it(device):
    """Forward, backward and Adam on "cuda" queue work without one host synchronisation."""
    if device != "cuda":
        pytest.skip("host synchronisation is a GPU matter")
    cupyx = pytest.importorskip("cupyx")
    if not hasattr(cupyx, "allow_synchronize"):
        pytest.skip("this CuPy cannot forbid synchronisation")
    from tinygrad_tf.bench.train_step import build_ours

    _, step, _ = build_ours(get_config("tiny"), device="cuda")
    first = float(step().item())  # compiles the kernels and allocates; may wait
    with cupyx.allow_synchronize(False):  # raises cupy's DeviceSynchronized on any wait
        loss = step()
    assert np.isfinite(first) and np.isfinite(float(loss.item()))
