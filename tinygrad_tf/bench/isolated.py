"""Each measurement in a Python process of its own, the libraries taking turns, and the rounds summarised.

Two libraries in one process disturb each other: after a call, OpenBLAS's and
PyTorch's worker threads keep spinning for a while and take cores from the
other library, so a GEMM measured next to them reads about half its rate.
So every measurement here is a fresh `python -m tinygrad_tf.bench.<worker>`
(subprocess, no shell) that loads one library, measures, prints one result
line and exits. The parent never imports torch (nor runs a GEMM), and runs
the workers in rounds, ours then torch then ours..., so that a change in the
machine's load reaches both; each round's number is kept, and the summary is
their median and spread.
"""
import json
import os
import statistics
import subprocess
import sys

MARKER = "TINYGRAD_TF_BENCH_RESULT "
LIBRARIES = ("ours", "torch")


def report(record):
    """In a worker: print the result for the parent (the one line it reads)."""
    print(MARKER + json.dumps(record), flush=True)


def run_worker(module, args, timeout=None):
    """Run `python -m tinygrad_tf.bench.<module> *args` in a fresh process; returns its result record.

    Raises:
        RuntimeError: naming the worker when it fails, with the last line of its error output
            (a traceback's last line is its error message).
    """
    command = [sys.executable, "-m", f"tinygrad_tf.bench.{module}", *map(str, args)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=_child_env(), timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"benchmark worker {module} {' '.join(map(str, args[:2]))} ran past {timeout} s") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        output = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        raise RuntimeError(f"benchmark worker {module} {' '.join(map(str, args[:2]))} failed "
                           f"(exit {done.returncode}): {output[-1].strip()}")
    return json.loads(lines[-1][len(MARKER):])


def _child_env():
    """The worker's environment: this checkout importable even when it is not installed."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def run_rounds(jobs, rounds, log=None, timeout=None):
    """Run every job once per round, in order (ours, torch, ours, torch, ...); returns ({name: [record per round]}, note).

    Args:
        jobs: {name: (worker module, its arguments)}, in the order they take turns.
        rounds: how many times each job runs, each time in a fresh process.
        log: a function taking a line of progress, or None.
        timeout: seconds one worker may take (None: no limit).

    A job whose worker reports itself unavailable (PyTorch without CUDA, say)
    is dropped, and the note says why.
    """
    log = log or (lambda line: None)
    records, note = {name: [] for name in jobs}, None
    for r in range(rounds):
        for name, (module, args) in list(jobs.items()):
            if name not in records:
                continue
            log(f"round {r + 1}/{rounds}: {name}")
            record = run_worker(module, args, timeout)
            if "unavailable" in record:
                del records[name]
                note = record["unavailable"]
                continue
            records[name].append(record)
    return records, note


def summary(values):
    """{"median", "min", "max", "spread"} of the rounds' values; spread is (max - min) / median (0 for one round)."""
    median = statistics.median(values)
    return {"median": median, "min": min(values), "max": max(values),
            "spread": (max(values) - min(values)) / median if median else 0.0, "rounds": list(values)}


def format_spread(s, scale=1.0, digits=1):
    """'12.3 (11.9-12.8)': a summary's median and range, scaled, for tables."""
    if len(s["rounds"]) == 1:
        return f"{s['median'] * scale:.{digits}f}"
    return f"{s['median'] * scale:.{digits}f} ({s['min'] * scale:.{digits}f}-{s['max'] * scale:.{digits}f})"


def torch_installed():
    """Whether torch can be imported, found without importing it (the parent process never loads it)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def torch_in_worker(device):
    """In a torch worker: the torch module, using every core on the CPU; None when it cannot run on `device`.

    Where it cannot, the worker's result says so (`{"unavailable": why}`) and
    the parent carries on with our numbers alone.
    """
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        report({"unavailable": "this PyTorch build sees no CUDA device; showing our own numbers only."})
        return None
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    return torch
