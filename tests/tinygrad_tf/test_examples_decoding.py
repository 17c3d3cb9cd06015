"""examples/07_kv_cache.py (cost per step with and without the cache) and examples/train_ddp.py (PyTorch DDP)."""
import importlib.util
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")


def test_kv_cache_example_feeds_one_position_per_step_and_agrees():
    spec = importlib.util.spec_from_file_location("example_07", os.path.join(EXAMPLES, "07_kv_cache.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main()
    steps = module.STEPS
    assert out["fed_plain"] == list(range(1, steps + 1))  # the whole prefix each step
    assert out["fed_cached"] == [1] * steps  # one new position
    heads = 4
    assert out["shapes_plain"] == [(1, heads, t, t) for t in range(1, steps + 1)]
    assert out["shapes_cached"] == [(1, heads, 1, t) for t in range(1, steps + 1)]  # one query over all keys so far
    assert out["ids_plain"] == out["ids_cached"]
    assert out["max_logit_diff"] < 1e-4


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from tinygrad_tf import TrainConfig, Trainer

    out = str(tmp_path_factory.mktemp("ddp") / "copy")
    config = TrainConfig.for_task("copy", steps=2, d_model=16, heads=2, layers=1, d_ff=32, max_pairs=300,
                                  batch_tokens=150, warmup=2, eval_every=10**6, seed=6)
    trainer = Trainer(config, out=out, log=lambda *a: None)
    trainer.save()
    return out


def _run_group(command, env, cwd, timeout):
    """Run `command` in a process group of its own; on a timeout end the whole group (the workers too)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s:\n{stdout}\n{stderr}")
    return stdout, stderr, process.returncode


def test_train_ddp_runs_under_torchrun_with_two_processes(run_dir, tmp_path):
    torch = pytest.importorskip("torch")
    from tinygrad_tf import load_translator
    from tinygrad_tf.interop import from_torch, load_torch

    out = str(tmp_path / "ddp.pt")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               os.path.join(EXAMPLES, "train_ddp.py"), "--checkpoint", run_dir, "--steps", "3", "--lr", "1e-3", "--out", out]
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    stdout, stderr, returncode = _run_group(command, env, str(tmp_path), timeout=300)
    assert returncode == 0, stdout + stderr
    lines = stdout.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("step ")] == ["step 1", "step 2", "step 3"]
    assert "weights identical on all 2 processes: True" in lines
    # the trained weights come back into our engine, and they did change
    module, _ = load_torch(out)
    trained = from_torch(module).state_dict()
    before = load_translator(run_dir).model.state_dict()
    assert set(trained) == set(before)
    assert not np.allclose(trained["generator.weight"], before["generator.weight"])
    assert torch.is_tensor(module.generator.weight)
