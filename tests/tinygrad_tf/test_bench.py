"""The benchmark suite (`tinygrad_tf.bench`, `tinygrad-tf bench`): FLOP count, like-for-like reference,
process isolation and rounds, smoke runs.

No timing is asserted: these tests check that the comparison measures the
same thing in both libraries, each in a process of its own, and that the
command runs and writes its results, not how fast anything is.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from autograd import cpu_kernels
from tinygrad_tf.bench import common, get_config, isolated, roofline, train_step
from tinygrad_tf.bench.common import BenchConfig, make_batch
from tinygrad_tf.cli import main

FAST = ["--rounds", "1", "--steps", "2", "--warmup", "1", "--gemm-size", "128", "--memory-steps", "2", "--repeat", "1"]


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
    reference_module = train_step.torch_reference()
    config = get_config("tiny")
    reference = reference_module.from_config(config, attention="manual")
    state = {name: p.detach().numpy() for name, p in reference.named_parameters()}
    state.pop("generator.bias")
    with pytest.raises(KeyError, match="generator.bias"):
        reference_module.load_from_ours(reference, state)


# ---- isolation and rounds ------------------------------------------------------------------

def _fake_workers(monkeypatch, records):
    """Replace the worker processes by `records[(name, round)]`; returns the list of calls made."""
    calls = []

    def run_worker(module, args, timeout=None):
        lib = args[args.index("--lib") + 1] if "--lib" in args else module
        calls.append((module, lib))
        return records(module, lib, sum(1 for _, seen in calls if seen == lib) - 1)

    monkeypatch.setattr(isolated, "run_worker", run_worker)
    return calls


def test_libraries_take_turns_in_their_own_processes(monkeypatch):
    calls = _fake_workers(monkeypatch, lambda module, lib, r: {"round": r})
    jobs = {"ours": ("train_step", ["--lib", "ours"]), "torch": ("train_step", ["--lib", "torch"]),
            "gemm": ("roofline", ["--device", "cpu"])}
    records, note = isolated.run_rounds(jobs, 3)
    assert calls == [("train_step", "ours"), ("train_step", "torch"), ("roofline", "roofline")] * 3
    assert [r["round"] for r in records["torch"]] == [0, 1, 2] and note is None


def test_a_library_that_cannot_run_is_dropped_with_its_reason(monkeypatch):
    def records(module, lib, r):
        return {"unavailable": "no CUDA here"} if lib == "torch" else {"round": r}

    calls = _fake_workers(monkeypatch, records)
    result, note = isolated.run_rounds({"ours": ("ops", ["--lib", "ours"]), "torch": ("ops", ["--lib", "torch"])}, 2)
    assert set(result) == {"ours"} and note == "no CUDA here"
    assert calls == [("ops", "ours"), ("ops", "torch"), ("ops", "ours")]


def test_train_result_is_the_median_over_rounds(monkeypatch):
    """Step times and the GEMM rate come from separate workers; medians, ratio and % of GEMM follow from them."""
    ours_medians, torch_medians, gemm_rates = [0.30, 0.10, 0.20], [0.40, 0.30, 0.20], [1e9, 3e9, 2e9]

    def records(module, lib, r):
        if module == "roofline":
            return {"size": 64, "library": "numpy", "seconds": 0.0, "flops_per_s": gemm_rates[r]}
        median = (ours_medians if lib == "ours" else torch_medians)[r]
        return {"lib": lib, "times_s": [median, median], "median_s": median, "first_loss": 4.0 + r}

    monkeypatch.setattr(isolated, "torch_installed", lambda: True)
    _fake_workers(monkeypatch, records)
    config = get_config("tiny")
    result = train_step.run(config, rounds=3)
    ours, theirs = result["libraries"]["ours"], result["libraries"]["torch"]
    assert ours["median_s"] == 0.20 and theirs["median_s"] == 0.30
    assert ours["round_medians_s"]["min"] == 0.10 and ours["round_medians_s"]["max"] == 0.30
    assert result["gemm"]["flops_per_s"] == 2e9
    flops = roofline.step_flops(config)["total"]
    assert ours["percent_of_gemm_rate"] == pytest.approx(100 * flops / 0.20 / 2e9)
    assert result["speed_ratio_ours_over_torch"] == pytest.approx(1.5)
    assert result["speed_ratio_rounds"]["rounds"] == pytest.approx([0.4 / 0.3, 3.0, 1.0])
    assert ours["first_loss"] == 4.0
    assert "3 rounds" in train_step.format_result(result)


def test_summary_of_rounds():
    s = isolated.summary([3.0, 1.0, 2.0])
    assert (s["median"], s["min"], s["max"], s["spread"]) == (2.0, 1.0, 3.0, 1.0)
    assert isolated.format_spread(s, 10) == "20.0 (10.0-30.0)"
    assert isolated.format_spread(isolated.summary([2.0])) == "2.0"


def test_a_failing_worker_is_a_clear_error():
    with pytest.raises(RuntimeError, match="benchmark worker no_such_worker .* failed"):
        isolated.run_worker("no_such_worker", ["--lib", "ours"])


def test_the_parent_process_never_imports_torch():
    code = ("import sys\n"
            "from tinygrad_tf.cli import main\n"
            "from tinygrad_tf.bench import common, memory, ops, roofline, train_step\n"
            "common.libraries(True)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=isolated._child_env(), check=False)
    assert done.returncode == 0, done.stderr


# ---- the command -------------------------------------------------------------------------------

def test_bench_train_smoke(torch, tmp_path):
    out = _invoke("train", "--config", "tiny", *FAST, "--out", str(tmp_path))
    assert "ours (numpy)" in out and "torch eager (mha)" in out and "ours/torch tokens/s" in out
    result = _load(tmp_path / "train-tiny-cpu.json")
    assert result["config"]["d_model"] == 16 and result["steps"] == 2
    assert set(result["libraries"]) == {"ours", "torch"}
    assert result["rounds"] == 1 and "process of its own" in result["isolation"]
    for lib in result["libraries"].values():
        assert len(lib["times_s"]) == 2 and len(lib["round_medians_s"]["rounds"]) == 1
        for key in ("median_s", "target_tokens_per_s", "tokens_per_s", "percent_of_gemm_rate", "first_loss"):
            assert lib[key] > 0, key
    assert result["speed_ratio_ours_over_torch"] > 0
    assert result["flops_per_step"]["total"] == roofline.step_flops(get_config("tiny"))["total"]
    assert result["gemm"]["size"] == 128
    for key in ("platform", "processor", "cpu_count", "numpy", "torch", "cupy", "numba"):
        assert key in result["machine"], key
    assert result["machine"]["compiled_cpu_loops"] is (cpu_kernels.load() is not None)  # what our side ran
    assert result["machine"]["torch"] == torch.__version__.split("+")[0] or result["machine"]["torch"].startswith(torch.__version__.split("+")[0])
    assert result["libraries"]["torch"]["torch_threads"] >= 1


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
    monkeypatch.setattr(isolated, "torch_installed", lambda: False)
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
