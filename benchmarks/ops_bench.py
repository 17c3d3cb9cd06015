"""Forward + backward time of single ops against PyTorch (CPU), in the same run.

    python benchmarks/ops_bench.py [--repeat 20] [--json benchmarks/results/ops.json]

Each case builds the same inputs in both libraries, runs forward, a backward
of sum(out * w) and reads the gradients, and reports the median time of each
and the ratio ours / PyTorch (< 1 means faster than PyTorch). The last rows
time the engine's own overhead on tiny tensors, where array work is nothing.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import ops  # noqa: E402
from autograd import Tensor  # noqa: E402


def _cases(rng):
    """(name, input shapes, our function, torch function, integer-input builder or None)."""
    import torch
    import torch.nn.functional as F

    ln_w = rng.standard_normal(512).astype(np.float32)
    ln_b = rng.standard_normal(512).astype(np.float32)
    targets = rng.integers(0, 8000, size=1024)
    yield from (
        (f"matmul {n}x{n}", [(n, n), (n, n)], lambda a, b: a @ b, lambda a, b: a @ b)
        for n in (256, 512, 1024)
    )
    yield ("matmul batched (64,12,64)@(64,64,12)", [(64, 12, 64), (64, 64, 12)], lambda a, b: a @ b, lambda a, b: a @ b)
    yield ("softmax (64,8,32,32)", [(64, 8, 32, 32)], lambda x: ops.softmax(x, -1), lambda x: torch.softmax(x, -1))
    yield ("log_softmax (1024,8000)", [(1024, 8000)], lambda x: ops.log_softmax(x, -1), lambda x: torch.log_softmax(x, -1))
    yield (
        "layer_norm (2048,512)", [(2048, 512)],
        lambda x: ops.layer_norm(x, Tensor(ln_w), Tensor(ln_b)),
        lambda x: F.layer_norm(x, (512,), torch.from_numpy(ln_w), torch.from_numpy(ln_b)),
    )
    yield (
        "cross_entropy (1024,8000) ls=0.1", [(1024, 8000)],
        lambda x: ops.cross_entropy(x, Tensor(targets), label_smoothing=0.1),
        lambda x: F.cross_entropy(x, torch.from_numpy(targets), label_smoothing=0.1),
    )
    yield ("gelu (2048,2048)", [(2048, 2048)], lambda x: ops.gelu(x), lambda x: F.gelu(x))
    yield ("add+mul (2048,2048)", [(2048, 2048), (2048,)], lambda a, b: (a + b) * b, lambda a, b: (a + b) * b)


def _mlp_step(rng, torch):
    """A two-layer MLP training step (forward, cross-entropy, backward, SGD update) in both libraries."""
    x = rng.standard_normal((256, 512)).astype(np.float32)
    y = rng.integers(0, 10, size=256)
    w1 = (rng.standard_normal((512, 1024)) * 0.03).astype(np.float32)
    w2 = (rng.standard_normal((1024, 10)) * 0.03).astype(np.float32)
    ours = [Tensor(w1, requires_grad=True), Tensor(w2, requires_grad=True)]
    theirs = [torch.tensor(w1, requires_grad=True), torch.tensor(w2, requires_grad=True)]
    xo, yo, xt, yt = Tensor(x), Tensor(y), torch.from_numpy(x), torch.from_numpy(y)

    def step_ours():
        loss = ops.cross_entropy(ops.relu(xo @ ours[0]) @ ours[1], yo)
        for p in ours:
            p.grad = None
        loss.backward()
        for p in ours:
            p.data -= 0.01 * p.grad.data

    def step_torch():
        loss = torch.nn.functional.cross_entropy(torch.relu(xt @ theirs[0]) @ theirs[1], yt)
        for p in theirs:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in theirs:
                p -= 0.01 * p.grad

    return step_ours, step_torch


def _median_time(fn, repeat):
    fn()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _fwd_bwd(fn, inputs, weight):
    def run():
        for x in inputs:
            x.grad = None
        out = fn(*inputs)
        (out * weight).sum().backward()
        return [x.grad for x in inputs]

    return run


def run(repeat=20):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    rows = []
    for name, shapes, ours_fn, torch_fn in _cases(rng):
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        ours_in = [Tensor(a, requires_grad=True) for a in arrays]
        torch_in = [torch.tensor(a, requires_grad=True) for a in arrays]
        w = rng.standard_normal(ours_fn(*ours_in).shape).astype(np.float32)  # the loss is sum(out * w)
        t_ours = _median_time(_fwd_bwd(ours_fn, ours_in, Tensor(w)), repeat)
        t_torch = _median_time(_fwd_bwd(torch_fn, torch_in, torch.from_numpy(w)), repeat)
        rows.append((name, t_ours, t_torch))
    step_ours, step_torch = _mlp_step(rng, torch)
    rows.append(("MLP step 256x512->1024->10", _median_time(step_ours, repeat), _median_time(step_torch, repeat)))

    tiny = [Tensor(np.ones(4, np.float32), requires_grad=True) for _ in range(2)]
    tiny_t = [torch.ones(4, requires_grad=True) for _ in range(2)]
    n = 200
    rows.append(("overhead: 200 tiny muls fwd+bwd (per op)",
                 _median_time(_chain(lambda a, b: a * b, tiny, n), repeat) / n,
                 _median_time(_chain(lambda a, b: a * b, tiny_t, n), repeat) / n))
    return rows


def _chain(op, inputs, n):
    a, b = inputs

    def run():
        a.grad = None
        y = a
        for _ in range(n):
            y = op(y, b)
        y.sum().backward()

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    rows = run(args.repeat)
    print(f"{'case':44s} {'ours ms':>10s} {'torch ms':>10s} {'ours/torch':>10s}")
    for name, ours, theirs in rows:
        unit, scale = ("us", 1e6) if name.startswith("overhead") else ("ms", 1e3)
        print(f"{name:44s} {ours * scale:8.3f}{unit} {theirs * scale:8.3f}{unit} {ours / theirs:10.2f}")
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                       "rows": [{"case": n, "ours_s": o, "torch_s": t, "ratio": o / t} for n, o, t in rows]}, f, indent=1)


if __name__ == "__main__":
    main()
