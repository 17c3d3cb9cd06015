"""Forward + backward time of single ops against PyTorch.

Each case builds the same seeded inputs in both libraries, runs forward, a
backward of sum(out * w) and reads the gradients. Each library runs every case
in a process of its own (`python -m tinygrad_tf.bench.ops --lib ours|torch`),
the two taking turns for `rounds` rounds; a case's time is the median over
rounds of its median over `repeat` runs, and the ratio is ours / PyTorch
(< 1 means faster than PyTorch). The last rows time the engine's own overhead
on tiny tensors, where array work is nothing. Without torch only our times
are measured.
"""
import argparse
import statistics
import time

import numpy as np

import ops
from autograd import Tensor, allocator

from . import isolated
from .common import add_forms_argument, synchronizer, use_forms


def _cases(rng, torch, device="cpu"):
    """(name, input shapes, our function, torch function): the torch functions when torch is given, else ours.

    Both workers draw the same numbers from `rng`, so both get the same inputs.
    """
    F = torch.nn.functional if torch is not None else None
    tdev = "cuda" if device == "cuda" else "cpu"

    ln_w = rng.standard_normal(512).astype(np.float32)
    ln_b = rng.standard_normal(512).astype(np.float32)
    targets = rng.integers(0, 8000, size=1024)
    if torch is None:  # only the library measured is loaded into a worker
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
    """A two-layer MLP training step (forward, cross-entropy, backward, SGD update): torch's when torch is given, else ours."""
    x = rng.standard_normal((256, 512)).astype(np.float32)
    y = rng.integers(0, 10, size=256)
    w1 = (rng.standard_normal((512, 1024)) * 0.03).astype(np.float32)
    w2 = (rng.standard_normal((1024, 10)) * 0.03).astype(np.float32)
    if torch is not None:
        return _mlp_step_torch(torch, device, x, y, w1, w2)
    ours = [Tensor(w1, requires_grad=True, device=device), Tensor(w2, requires_grad=True, device=device)]
    xo, yo = Tensor(x, device=device), Tensor(y, device=device)

    def step_ours():
        loss = ops.cross_entropy(ops.relu(xo @ ours[0]) @ ours[1], yo)
        for p in ours:
            p.grad = None
        loss.backward()
        for p in ours:
            p.data -= 0.01 * p.grad.data

    return step_ours


def _mlp_step_torch(torch, device, x, y, w1, w2):
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

    return step_torch


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


def measure(lib, repeat=20, device="cpu"):
    """In a worker process: {case: median seconds} of every case in `lib` ("ours" or "torch")."""
    torch = isolated.torch_in_worker(device) if lib == "torch" else None
    if lib == "torch" and torch is None:
        return None  # reported as unavailable
    if lib == "ours":
        allocator.keep_freed_memory()  # as Trainer.fit and the other benchmarks do: freed memory stays in the process
    sync = synchronizer(device, torch)[0 if lib == "ours" else 1]
    tdev = "cuda" if device == "cuda" else "cpu"
    rng = np.random.default_rng(0)  # the same draws in both workers: the same inputs
    times = {}
    for name, shapes, ours_fn, torch_fn in _cases(rng, torch, device):
        arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        if lib == "ours":
            inputs = [Tensor(a, requires_grad=True, device=device) for a in arrays]
            w = rng.standard_normal(ours_fn(*inputs).shape).astype(np.float32)  # the loss is sum(out * w)
            times[name] = _median_time(_fwd_bwd(ours_fn, inputs, Tensor(w, device=device)), repeat, sync)
        else:
            inputs = [torch.tensor(a, requires_grad=True, device=tdev) for a in arrays]
            w = rng.standard_normal(tuple(torch_fn(*inputs).shape)).astype(np.float32)
            times[name] = _median_time(_fwd_bwd(torch_fn, inputs, torch.from_numpy(w).to(tdev)), repeat, sync)
    times["MLP step 256x512->1024->10"] = _median_time(_mlp_step(rng, torch, device), repeat, sync)

    n = 200
    if lib == "ours":
        tiny = [Tensor(np.ones(4, np.float32), requires_grad=True, device=device) for _ in range(2)]
        times[OVERHEAD] = _median_time(_chain(lambda a, b: a * b, tiny, n), repeat, sync) / n
        # what of that is array work: the engine's own overhead is the difference
        times[ARRAY_WORK] = _median_time(_array_chain(tiny, n), repeat, sync) / n
    else:
        tiny = [torch.ones(4, requires_grad=True, device=tdev) for _ in range(2)]
        times[OVERHEAD] = _median_time(_chain(lambda a, b: a * b, tiny, n), repeat, sync) / n
    return {"lib": lib, "seconds": times}


OVERHEAD = "overhead: 200 tiny muls fwd+bwd (per op)"
ARRAY_WORK = "overhead: its array work alone (per op)"


def run(repeat=20, rounds=3, device="cpu", use_torch=True, log=None, forms="fast"):
    """Rows (case, our seconds, torch seconds or None, our summary, torch summary or None), each library in its own process.

    The seconds are medians over rounds; the summaries (`isolated.summary`) hold every round's value.
    """
    from .common import libraries

    libs, torch_note = libraries(use_torch)
    jobs = {lib: ("ops", ["--lib", lib, "--repeat", repeat, "--device", device, "--forms", forms]) for lib in libs}
    records, note = isolated.run_rounds(jobs, rounds, log)
    summaries = {lib: {case: isolated.summary([r["seconds"][case] for r in rs]) for case in rs[0]["seconds"]}
                 for lib, rs in records.items()}
    rows = []
    for case, ours in summaries["ours"].items():
        theirs = summaries.get("torch", {}).get(case)
        rows.append((case, ours["median"], theirs["median"] if theirs else None, ours, theirs))
    return rows, torch_note or note


def format_rows(rows, note=None):
    """The table: our and torch's median time per case (range over rounds), and their ratio (torch columns n/a without torch)."""
    lines = [f"{'case':44s} {'ours':>24s} {'torch':>24s} {'ours/torch':>10s}"]
    for name, ours, theirs, ours_rounds, theirs_rounds in rows:
        unit, scale = ("us", 1e6) if name.startswith("overhead") else ("ms", 1e3)
        digits = 2 if unit == "us" else 3
        ours_text = isolated.format_spread(ours_rounds, scale, digits) + " " + unit
        if theirs is None:
            lines.append(f"{name:44s} {ours_text:>24s} {'n/a':>24s} {'n/a':>10s}")
        else:
            theirs_text = isolated.format_spread(theirs_rounds, scale, digits) + " " + unit
            lines.append(f"{name:44s} {ours_text:>24s} {theirs_text:>24s} {ours / theirs:10.2f}")
    if note:
        lines.append(note)
    return "\n".join(lines)


def to_json(rows, repeat, rounds, device="cpu", note=None):
    return {"benchmark": "ops", "device": device, "repeat": repeat, "rounds": rounds, "torch_note": note,
            "isolation": "each library in a process of its own, taking turns",
            "rows": [{"case": n, "ours_s": o, "torch_s": t, "ratio": (o / t if t else None),
                      "ours_rounds_s": os_["rounds"], "torch_rounds_s": ts["rounds"] if ts else None}
                     for n, o, t, os_, ts in rows]}


def _main(argv=None):
    parser = argparse.ArgumentParser(description="worker of the ops benchmark (one library, one round)")
    parser.add_argument("--lib", choices=("ours", "torch"), required=True)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    add_forms_argument(parser)
    args = parser.parse_args(argv)
    use_forms(args.lib, args.forms)
    record = measure(args.lib, args.repeat, args.device)
    if record is not None:
        isolated.report(record)


if __name__ == "__main__":
    _main()
