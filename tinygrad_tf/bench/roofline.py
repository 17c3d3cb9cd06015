"""The roofline: matmul FLOPs of a training step, and this machine's measured GEMM rate.

Only the matrix products are counted (projections, attention scores and
weighted values, the feed-forward, the generator); they are where the
arithmetic is. A product of (m, k) by (k, n) costs 2*m*n*k FLOPs forward and
twice that backward (a gradient for each operand), so a step costs 3x its
forward. Padding positions are counted: the step computes them.

The GEMM rate is measured by `python -m tinygrad_tf.bench.roofline` in a
process of its own, so "% of GEMM" compares a step with a GEMM that had the
machine to itself (next to another library's spinning threads it reads about
half as fast).
"""
import argparse
import statistics
import time

import numpy as np


def step_gemms(config):
    """The forward GEMMs of one step as (what, count, m, n, k): `count` products of (m, k) @ (k, n)."""
    b, s, t, d = config.batch, config.src_len, config.tgt_len, config.d_model
    h, dk, ff, v = config.heads, config.d_model // config.heads, config.d_ff, config.vocab
    enc, dec = config.encoder_layers, config.decoder_layers
    return [
        ("encoder self-attn q/k/v/out projections", enc * 4, b * s, d, d),
        ("encoder self-attn scores Q K^T", enc * b * h, s, s, dk),
        ("encoder self-attn weights @ V", enc * b * h, s, dk, s),
        ("encoder feed-forward linear1", enc, b * s, ff, d),
        ("encoder feed-forward linear2", enc, b * s, d, ff),
        ("decoder self-attn q/k/v/out projections", dec * 4, b * t, d, d),
        ("decoder self-attn scores Q K^T", dec * b * h, t, t, dk),
        ("decoder self-attn weights @ V", dec * b * h, t, dk, t),
        ("decoder cross-attn q/out projections", dec * 2, b * t, d, d),
        ("decoder cross-attn k/v projections of the memory", dec * 2, b * s, d, d),
        ("decoder cross-attn scores Q K^T", dec * b * h, t, s, dk),
        ("decoder cross-attn weights @ V", dec * b * h, t, dk, s),
        ("decoder feed-forward linear1", dec, b * t, ff, d),
        ("decoder feed-forward linear2", dec, b * t, d, ff),
        ("generator", 1, b * t, v, d),
    ]


def step_flops(config):
    """{"forward", "backward", "total"}: matmul FLOPs of one training step (backward = 2 x forward)."""
    forward = sum(2 * count * m * n * k for _, count, m, n, k in step_gemms(config))
    return {"forward": forward, "backward": 2 * forward, "total": 3 * forward}


def gemm_worker_args(device="cpu", size=None):
    """The arguments of the GEMM-rate worker (`isolated.run_worker("roofline", ...)`)."""
    return ["--device", device] + (["--size", size] if size else [])


def gemm_rate(device="cpu", size=None, repeat=5):
    """FLOP/s of a (size x size) @ (size x size) float32 product with NumPy (CuPy on "cuda"): the median of `repeat`."""
    size = size or (2048 if device == "cpu" else 8192)
    if device == "cuda":
        from autograd import backend

        xp = backend.xp_for("cuda")
        sync = xp.cuda.Device().synchronize
    else:
        xp, sync = np, (lambda: None)
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.standard_normal((size, size), dtype=np.float32))
    b = xp.asarray(rng.standard_normal((size, size), dtype=np.float32))
    out = a @ b  # warm up (threads, kernels)
    sync()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = a @ b
        sync()
        times.append(time.perf_counter() - start)
    del out
    return {"size": size, "seconds": statistics.median(times), "flops_per_s": 2 * size**3 / statistics.median(times),
            "library": "cupy" if device == "cuda" else "numpy"}


def _main(argv=None):
    from .isolated import report

    parser = argparse.ArgumentParser(description="worker of the GEMM rate (one measurement, alone)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    report(gemm_rate(args.device, args.size, args.repeat))


if __name__ == "__main__":
    _main()
