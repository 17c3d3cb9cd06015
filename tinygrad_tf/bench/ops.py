"""Forward + backward time of single ops against PyTorch, in the same run.

Each case builds the same inputs in both libraries, runs forward, a backward
of sum(out * w) and reads the gradients, and reports the median time of each
and the ratio ours / PyTorch (< 1 means faster than PyTorch). The last rows
time the engine's own overhead on tiny tensors, where array work is nothing.
Without torch only our times are measured.
"""
import os
import statistics
import time

import numpy as np

import ops
from autograd import Tensor

from .common import TORCH_HELP, synchronizer


def _cases(rng, torch, device="cpu"):
    """(name, input shapes, our function, torch function); torch functions are only called when torch is given."""
    F = torch.nn.functional if torch is not None else None
    tdev = "cuda" if device == "cuda" else "cpu"

    ln_w = rng.standard_normal(512).astype(np.float32)
    ln_b = rng.standard_normal(512).astype(np.float32)
    targets = rng.integers(0, 8000, size=1024)
    ours_ln = Tensor(ln_w, device=device), Tensor(ln_b, device=device)
    ours_targets = Tensor(targets, device=device)

    def theirs(array):
        return torch.from_numpy(array).to(tdev)

    yield from (
        (f"matmul {n}x{n}", [(n, n), (n, n)], lambda a, b: a @ b, lambda a, b: a @ b)
        for n in (256, 512, 1024)
    )
    yield ("matmul batched (64,12,64)@(64,64,12)", [(64, 12, 64), (64, 64, 12)], lambda a, b: a @ b, lambda a, b: a @ b)
    yield ("linear (1024,512)->512 with bias", [(1024, 512), (512, 512), (512,)], ops.linear, lambda x, w, b: F.linear(x, w, b))
    yield ("softmax (64,8,32,32)", [(64, 8, 32, 32)], lambda x: ops.softmax(x, -1), lambda x: torch.softmax(x, -1))
    yield ("log_softmax (1024,8000)", [(1024, 8000)], lambda x: ops.log_softmax(x, -1), lambda x: torch.log_softmax(x, -1))
    yield (
        "layer_norm (2048,512)", [(2048, 512)],
        lambda x: ops.layer_norm(x, *ours_ln),
        lambda x: F.layer_norm(x, (512,), theirs(ln_w), theirs(ln_b)),
    )
    yield (
        "cross_entropy (1024,8000) ls=0.1", [(1024, 8000)],
        lambda x: ops.cross_entropy(x, ours_targets, label_smoothing=0.1),
        lambda x: F.cross_entropy(x, theirs(targets), label_smoothing=0.1),
    )
    yield ("gelu (2048,2048)", [(2048, 2048)], lambda x: ops.gelu(x), lambda x: F.gelu(x))
    yield ("add+mul (2048,2048)", [(2048, 2048), (2048,)], lambda a, b: (a + b) * b, lambda a, b: (a + b) * b)


def _mlp_step(rng, torch, device="cpu"):
    """A two-layer MLP training step (forward, cross-entropy, backward, SGD update) in both libraries."""
    x = rng.standard_normal((256, 512)).astype(np.float32)
    y = rng.integers(0, 10, size=256)
    w1 = (rng.standard_normal((512, 1024)) * 0.03).astype(np.float32)
    w2 = (rng.standard_normal((1024, 10)) * 0.03).astype(np.float32)
    ours = [Tensor(w1, requires_grad=True, device=device), Tensor(w2, requires_grad=True, device=device)]
    xo, yo = Tensor(x, device=device), Tensor(y, device=device)

    def step_ours():
        loss = ops.cross_entropy(ops.relu(xo @ ours[0]) @ ours[1], yo)
        for p in ours:
            p.grad = None
        loss.backward()
        for p in ours:
            p.data -= 0.01 * p.grad.data

    if torch is None:
        return step_ours, None
    tdev = "cuda" if device == "cuda" else "cpu"
    theirs = [torch.tensor(w1, requires_grad=True, device=tdev), torch.tensor(w2, requires_grad=True, device=tdev)]
    xt, yt = torch.from_numpy(x).to(tdev), torch.from_numpy(y).to(tdev)

    def step_torch():
        loss = torch.nn.functional.cross_entropy(torch.relu(xt @ theirs[0]) @ theirs[1], yt)
        for p in theirs:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in theirs:
                p -= 0.01 * p.grad

    return step_ours, step_torch


def _median_time(fn, repeat, sync=lambda: None):
    fn()  # warm up
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
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


def _array_chain(inputs, n):
    """The array operations of `_chain` over multiplications, done directly on the backend arrays."""
    a, b = (x.data for x in inputs)

    def run():
        outputs = [a]
        for _ in range(n):  # forward: y = y * b
            outputs.append(outputs[-1] * b)
        g, grad_b = outputs[-1] * 0 + 1, None  # backward of sum(), then of each product
        for y in reversed(outputs[:-1]):
            gb = g * y
            grad_b = gb if grad_b is None else grad_b + gb
            g = g * b

    return run


def _chain(op, inputs, n):
    a, b = inputs

    def run():
        a.grad = None
        y = a
        for _ in range(n):
            y = op(y, b)
        y.sum().backward()

    return run


def run(repeat=20, torch=None, device="cpu"):
    """Rows (case, our seconds, torch seconds or None); torch is the torch module or None."""
    if torch is not None and device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    sync_ours, sync_torch = synchronizer(device, torch)
    tdev = "cuda" if device == "cuda" else "cpu"
    rng = np.random.default_rng(0)
    rows = []
    for name, shapes, ours_fn, torch_fn in _cases(rng, torch, device):
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        ours_in = [Tensor(a, requires_grad=True, device=device) for a in arrays]
        w = rng.standard_normal(ours_fn(*ours_in).shape).astype(np.float32)  # the loss is sum(out * w)
        t_ours = _median_time(_fwd_bwd(ours_fn, ours_in, Tensor(w, device=device)), repeat, sync_ours)
        t_torch = None
        if torch is not None:
            torch_in = [torch.tensor(a, requires_grad=True, device=tdev) for a in arrays]
            t_torch = _median_time(_fwd_bwd(torch_fn, torch_in, torch.from_numpy(w).to(tdev)), repeat, sync_torch)
        rows.append((name, t_ours, t_torch))
    step_ours, step_torch = _mlp_step(rng, torch, device)
    rows.append(("MLP step 256x512->1024->10", _median_time(step_ours, repeat, sync_ours),
                 _median_time(step_torch, repeat, sync_torch) if torch is not None else None))

    n = 200
    tiny = [Tensor(np.ones(4, np.float32), requires_grad=True, device=device) for _ in range(2)]
    t_torch = None
    if torch is not None:
        tiny_t = [torch.ones(4, requires_grad=True, device=tdev) for _ in range(2)]
        t_torch = _median_time(_chain(lambda a, b: a * b, tiny_t, n), repeat, sync_torch) / n
    rows.append(("overhead: 200 tiny muls fwd+bwd (per op)",
                 _median_time(_chain(lambda a, b: a * b, tiny, n), repeat, sync_ours) / n, t_torch))
    # what of that is array work: the engine's own overhead is the difference
    rows.append(("overhead: its array work alone (per op)",
                 _median_time(_array_chain(tiny, n), repeat, sync_ours) / n, None))
    return rows


def format_rows(rows):
    """The table benchmarks/ops_bench.py has always printed (torch columns n/a without torch)."""
    lines = [f"{'case':44s} {'ours ms':>10s} {'torch ms':>10s} {'ours/torch':>10s}"]
    for name, ours, theirs in rows:
        unit, scale = ("us", 1e6) if name.startswith("overhead") else ("ms", 1e3)
        if theirs is None:
            lines.append(f"{name:44s} {ours * scale:8.3f}{unit} {'n/a':>10s} {'n/a':>10s}")
        else:
            lines.append(f"{name:44s} {ours * scale:8.3f}{unit} {theirs * scale:8.3f}{unit} {ours / theirs:10.2f}")
    if rows and rows[0][2] is None:
        lines.append(TORCH_HELP)
    return "\n".join(lines)


def to_json(rows, repeat, device="cpu"):
    return {"benchmark": "ops", "device": device, "repeat": repeat,
            "rows": [{"case": n, "ours_s": o, "torch_s": t, "ratio": (o / t if t else None)} for n, o, t in rows]}


