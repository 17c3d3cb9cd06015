"""Test helpers: parity with PyTorch, forward against NumPy, gradcheck on random inputs;
an op with a wrong backward; reading Graphviz SVGs; one-line CLI errors.

`helper_test_op` follows tinygrad's test_ops: the same computation is written
once against our API and once against torch; both run on the same numbers,
both backpropagate the same non-trivial loss sum(out * w) with fixed random
weights w, and the forward value and every input gradient must agree.
"""
import os
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from autograd import Function, Tensor, gradcheck


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def make_inputs(inputs, seed=0, low=-2.0, high=2.0):
    """NumPy arrays: a shape (tuple) becomes uniform random floats in [low, high).

    `low` and `high` are numbers, or one number per input.
    """
    rng = np.random.default_rng(seed)
    lows = low if isinstance(low, (tuple, list)) else [low] * len(inputs)
    highs = high if isinstance(high, (tuple, list)) else [high] * len(inputs)
    arrays = []
    for spec, lo, hi in zip(inputs, lows, highs):
        if isinstance(spec, tuple) and all(isinstance(n, (int, np.integer)) for n in spec):
            arrays.append(rng.uniform(lo, hi, size=spec))
        else:
            arrays.append(np.asarray(spec))
    return arrays


def helper_test_op(
    inputs,
    fn,
    torch_fn,
    device="cpu",
    *,
    dtype=np.float64,
    atol=1e-8,
    rtol=1e-6,
    grad_atol=None,
    grad_rtol=None,
    low=-2.0,
    high=2.0,
    seed=0,
    requires_grad=None,
    forward_only=False,
):
    """Compare `fn` (our API) with `torch_fn` (torch) forward and backward.

    Args:
        inputs: shapes (tuples of ints, filled with uniform random values in
            [low, high)) or arrays (used as they are; integer and boolean ones
            never require grad).
        fn, torch_fn: the same computation on our Tensors / on torch tensors;
            each returns a tensor or a tuple of tensors.
        device: where our inputs live.
        dtype: floating dtype of the inputs in both libraries.
        requires_grad: one flag per input (default: every floating input).
        forward_only: compare only the forward values.

    Returns:
        (our outputs, torch outputs, our inputs, torch inputs) for further checks.
    """
    torch = pytest.importorskip("torch")
    grad_atol = atol if grad_atol is None else grad_atol
    grad_rtol = rtol if grad_rtol is None else grad_rtol
    arrays = make_inputs(inputs, seed, low, high)
    floating = [a.dtype.kind == "f" for a in arrays]
    flags = list(requires_grad) if requires_grad is not None else floating
    flags = [f and fl for f, fl in zip(flags, floating)]

    ours = [
        Tensor(a, requires_grad=f, dtype=dtype if fl else None, device=device)
        for a, f, fl in zip(arrays, flags, floating)
    ]
    theirs = [
        torch.tensor(a.astype(dtype) if fl else a, requires_grad=f)
        for a, f, fl in zip(arrays, flags, floating)
    ]
    outs = _as_tuple(fn(*ours))
    touts = _as_tuple(torch_fn(*theirs))
    assert len(outs) == len(touts), f"{len(outs)} outputs, torch gives {len(touts)}"
    for k, (o, t) in enumerate(zip(outs, touts)):
        assert isinstance(o, Tensor), f"output {k} is {type(o).__name__}, not a Tensor"
        assert o.device == device, f"output {k} is on {o.device}, inputs on {device}"
        assert tuple(o.shape) == tuple(t.shape), f"output {k}: shape {o.shape}, torch {tuple(t.shape)}"
        np.testing.assert_allclose(
            o.numpy(), t.detach().numpy(), atol=atol, rtol=rtol, err_msg=f"forward output {k}"
        )
    if forward_only or not any(flags):
        return outs, touts, ours, theirs

    # loss = sum_k sum(out_k * w_k) with fixed random w_k: every output element
    # gets a different upstream gradient, so a transposed or misplaced gradient shows.
    rng = np.random.default_rng(seed + 1)
    loss, tloss = None, None
    for o, t in zip(outs, touts):
        if not o.requires_grad:
            assert not t.requires_grad, "torch's output requires grad but ours does not"
            continue
        w = rng.standard_normal(o.shape)
        term = (o * Tensor(w, dtype=o.dtype, device=device)).sum()
        tterm = (t * torch.tensor(w, dtype=t.dtype)).sum()
        loss = term if loss is None else loss + term
        tloss = tterm if tloss is None else tloss + tterm
    assert loss is not None, "no output requires grad"
    loss.backward()
    tloss.backward()
    for i, (x, tx, f) in enumerate(zip(ours, theirs, flags)):
        if not f:
            assert x.grad is None, f"input {i} does not require grad but got one"
            continue
        expected = tx.grad.numpy() if tx.grad is not None else np.zeros(tx.shape)
        assert x.grad is not None, f"input {i} got no gradient"
        assert x.grad.shape == x.shape, f"input {i}: grad shape {x.grad.shape}, input {x.shape}"
        assert x.grad.dtype == x.dtype, f"input {i}: grad dtype {x.grad.dtype}, input {x.dtype}"
        assert x.grad.device == device
        np.testing.assert_allclose(
            x.grad.numpy(), expected, atol=grad_atol, rtol=grad_rtol, err_msg=f"gradient of input {i}"
        )
    return outs, touts, ours, theirs


def check_numpy_forward(inputs, fn, np_fn, device="cpu", *, dtype=np.float64, atol=1e-10, rtol=1e-7,
                        low=-2.0, high=2.0, seed=0):
    """Our forward on `inputs` equals the plain-NumPy `np_fn` on the same arrays (value, shape, dtype)."""
    arrays = make_inputs(inputs, seed, low, high)
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    ours = [Tensor(a, dtype=dtype if a.dtype.kind == "f" else None, device=device) for a in arrays]
    outs = _as_tuple(fn(*ours))
    expected = _as_tuple(np_fn(*arrays))
    assert len(outs) == len(expected)
    for o, e in zip(outs, expected):
        e = np.asarray(e)
        assert o.device == device
        assert tuple(o.shape) == e.shape, f"shape {o.shape}, NumPy {e.shape}"
        assert o.dtype == e.dtype, f"dtype {o.dtype}, NumPy {e.dtype}"
        np.testing.assert_allclose(o.numpy(), e, atol=atol, rtol=rtol)
    return outs


def check_gradcheck(inputs, fn, device="cpu", *, low=-2.0, high=2.0, seed=0, requires_grad=None, **kw):
    """`gradcheck(fn, ...)` in float64 on random inputs of the given shapes (or arrays)."""
    arrays = make_inputs(inputs, seed, low, high)
    floating = [a.dtype.kind == "f" for a in arrays]
    flags = list(requires_grad) if requires_grad is not None else floating
    tensors = [
        Tensor(a, requires_grad=bool(f and fl), dtype=np.float64 if fl else None, device=device)
        for a, f, fl in zip(arrays, flags, floating)
    ]
    assert gradcheck(fn, tensors, **kw)


def wrong_square(factor):
    """An op "wrong_square": x * x forward, but grad * factor * x backward instead of grad * 2x (on purpose)."""

    class WrongSquare(Function):
        name = "wrong_square"

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x * factor

    return WrongSquare


# ---- pictures drawn by Graphviz ---------------------------------------------------------------
SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


def _bbox(g):
    """(x0, y0, x1, y1) around the shapes of an SVG group (polygons, rounded paths, ellipses)."""
    xs, ys = [], []
    outlines = [p.get("points") for p in g.iter(SVG + "polygon")] + [p.get("d") for p in g.iter(SVG + "path")]
    for outline in outlines:
        for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", outline):
            xs.append(float(x))
            ys.append(float(y))
    for e in g.iter(SVG + "ellipse"):
        cx, cy, rx, ry = (float(e.get(k)) for k in ("cx", "cy", "rx", "ry"))
        xs += [cx - rx, cx + rx]
        ys += [cy - ry, cy + ry]
    return min(xs), min(ys), max(xs), max(ys)


def parse_svg(data):
    """(nodes {title: {texts, box}}, clusters {title: {label, box}}, edges [{src, dst, texts}]) of an SVG
    drawn by dot (bytes or str); the legend is left out."""
    root = ET.fromstring(data)
    nodes, clusters, edges = {}, {}, []
    for g in root.iter(SVG + "g"):
        kind, title = g.get("class"), g.findtext(SVG + "title")
        texts = [t.text or "" for t in g.iter(SVG + "text")]
        if title is None or "legend" in title:
            continue
        if kind == "node":
            nodes[title] = dict(texts=texts, box=_bbox(g))
        elif kind == "cluster":
            clusters[title] = dict(label=" ".join(texts), box=_bbox(g))
        elif kind == "edge":
            src, dst = title.split("->")
            edges.append(dict(src=src, dst=dst, texts=texts))
    return nodes, clusters, edges


# ---- command line ------------------------------------------------------------------------------
def run_cli(*args, input=None):
    """`tinygrad-tf ARGS` in-process (click's CliRunner), arguments as strings; returns click's Result."""
    from click.testing import CliRunner

    from tinygrad_tf.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def train_tiny_run(tmp_path_factory, prefix, options, folder="run"):
    """Train a run with `options` (`tiny_copy_training`'s) into a fresh folder; returns the run's path."""
    out = str(tmp_path_factory.mktemp(prefix) / folder)
    result = run_cli("train", *options, "--out", out)
    assert result.exit_code == 0 and "done" in result.output, result.output
    return out


def tiny_copy_training(*, steps, max_pairs, batch_tokens, eval_every, warmup=10, seed=None):
    """`tinygrad-tf train` options, as typed, for a copy-task model small enough to train in a test.

    The model's sizes are fixed (d_model 16, 2 heads, 1 layer, d_ff 32); a
    None warmup or seed leaves that option out (the command's default).
    """
    args = ["--task", "copy", "--steps", steps, "--d-model", 16, "--heads", 2, "--layers", 1, "--d-ff", 32,
            "--max-pairs", max_pairs, "--batch-tokens", batch_tokens]
    args += [] if warmup is None else ["--warmup", warmup]
    args += ["--eval-every", eval_every] + ([] if seed is None else ["--seed", seed])
    return [str(a) for a in args]


def assert_clean_error(result, *fragments):
    """Non-zero exit, exactly one "Error:" line, no traceback, and the fragments in that line (returned)."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], result.output
    return errors[0]


def edit_checkpoint_meta(directory, edit, reseal=True):
    """Load a run's checkpoint.json, let `edit(meta)` change it in place, and write it back.

    With `reseal` the metadata's checksum is recomputed, so that the checks
    behind it (types, ranges, fit to the model) are what the test reaches.
    """
    import json

    from tinygrad_tf.checkpoint import META, meta_digest

    path = os.path.join(directory, META)
    with open(path, encoding="utf-8") as f:
        meta = json.load(f)
    edit(meta)
    if reseal and "meta_sha256" in meta:
        meta["meta_sha256"] = meta_digest(meta)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(meta, f)
