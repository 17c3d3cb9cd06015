"""`tinygrad-tf graph`: pictures of attention, layers and the Transformer (parsed SVGs), and one-line errors."""
import os
import re

import pytest

from helpers import assert_clean_error, needs_dot, parse_svg, run_cli


@pytest.fixture(autouse=True)
def _graphviz():
    return pytest.importorskip("graphviz")


def _run(*args):
    return run_cli("graph", *args)


def _svg(path):
    """(op names, node texts by title, cluster labels, edges [(src, dst, texts)]) of a picture; legend left out."""
    nodes, clusters, edges = parse_svg(path.read_bytes())
    ops = [n["texts"][0].split("(")[0] for title, n in nodes.items() if title.startswith("op")]
    return (ops, {title: n["texts"] for title, n in nodes.items()}, [c["label"] for c in clusters.values()],
            [(e["src"], e["dst"], e["texts"]) for e in edges])


def _draw(tmp_path, *args, name="out.svg"):
    out = tmp_path / name
    result = _run(*args, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out} (")
    return out


@needs_dot
@pytest.mark.parametrize("flags, linear, matmul, add", [
    ((), 4, 2, 0),  # Q, K, V and W_O as one linear node each; QK^T, weights x V
    (("--composed",), 0, 6, 4),  # each projection as matmul(x, W.T) + b
])
def test_attention_shows_the_whole_multi_head_attention(tmp_path, flags, linear, matmul, add):
    ops, nodes, clusters, _ = _svg(_draw(tmp_path, "attention", "--d-model", 8, "--heads", 2, "--seq-len", 3, *flags))
    assert (ops.count("linear"), ops.count("matmul"), ops.count("add")) == (linear, matmul, add)
    assert ops.count("reshape") == 4  # head split of Q, K, V; concatenation
    assert ops.count("transpose") == 5 + matmul - 2  # the same swaps and K^T (and each W^T)
    for name in ("div", "where", "softmax"):
        assert name in ops
    assert sorted(clusters) == ["self_attn", "self_attn.k_proj", "self_attn.out_proj", "self_attn.q_proj", "self_attn.v_proj"]
    firsts = {texts[0] for texts in nodes.values()}
    assert {"self_attn.q_proj.weight", "self_attn.out_proj.bias", "input", "output"} <= firsts
    assert "div(2)" in firsts and "where(-inf)" in firsts  # the scale sqrt(d_k) and the mask
    roles = {line[len("role: "):] for texts in nodes.values() for line in texts if line.startswith("role: ")}
    assert {"Q", "K", "V", "Kᵀ", "split heads", "scores QKᵀ", "scale 1/√d_k", "mask (causal)",
            "attention weights", "weights × V", "merge heads", "W_O (output projection)"} <= roles
    assert "causal mask (True = may attend)" in firsts  # the constant, drawn as the API means it: True = may attend


@needs_dot
@pytest.mark.parametrize("model, cluster", [("encoder-layer", "encoder_layer.feed_forward.linear2"),
                                            ("decoder-layer", "decoder_layer.cross_attn.v_proj")])
def test_layers(tmp_path, model, cluster):
    ops, _, clusters, _ = _svg(_draw(tmp_path, model))
    assert cluster in clusters and "layer_norm" in ops and "softmax" in ops and "where" in ops


@needs_dot
def test_transformer_collapsed_and_backward(tmp_path):
    full_ops, full_nodes, _, full_edges = _svg(_draw(tmp_path, "transformer", "--layers", 2, name="full.svg"))
    _, nodes, clusters, edges = _svg(_draw(tmp_path, "transformer", "--layers", 2, "--collapse", 2, name="c2.svg"))
    boxes = sorted(texts[0] for title, texts in nodes.items() if title.startswith("module"))
    assert boxes == ["decoder.layers.0", "decoder.layers.1", "encoder.layers.0", "encoder.layers.1"]
    assert "encoder.layers" in clusters and "encoder.layers.0" not in clusters
    assert len(edges) * 4 < len(full_edges)
    _, _, _, back = _svg(_draw(tmp_path, "transformer", "--collapse", 2, "--backward", name="bw.svg"))
    reversed_edges = [texts for _, _, texts in back if texts and texts[0].startswith("grad (")]
    assert len(reversed_edges) > 10 and all(texts[1].startswith("norm ") for texts in reversed_edges)


@needs_dot
def test_format_follows_the_extension_or_the_option(tmp_path):
    png = _draw(tmp_path, "attention", "--collapse", 0, name="a.png")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "a.dot").read_text().startswith("digraph")
    result = _run("attention", "--collapse", 0, "--format", "pdf", "--out", tmp_path / "b")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")


@needs_dot
def test_checkpoint_draws_the_trained_model(tmp_path):
    from tinygrad_tf import Trainer
    from tinygrad_tf.config import TrainConfig

    config = TrainConfig.for_task("copy", d_model=16, heads=2, layers=1, d_ff=32, max_pairs=50, seed=3)
    Trainer(config, out=str(tmp_path / "run"), log=lambda *a: None).save()
    _, _, clusters, _ = _svg(_draw(tmp_path, "attention", "--checkpoint", tmp_path / "run", name="a.svg"))
    assert "decoder.layers.0.self_attn.q_proj" in clusters
    _, nodes, _, _ = _svg(_draw(tmp_path, "transformer", "--checkpoint", tmp_path / "run", "--collapse", 2, name="t.svg"))
    assert sorted(t[0] for title, t in nodes.items() if title.startswith("module")) == ["decoder.layers.0", "encoder.layers.0"]
    assert_clean_error(_run("attention", "--checkpoint", tmp_path / "run", "--d-model", 8, "--out", tmp_path / "x.svg"),
                       "--d-model", "checkpoint")


# ---- errors -------------------------------------------------------------------------------------
def test_unknown_model_is_a_one_line_error(tmp_path):
    assert_clean_error(_run("lstm", "--out", tmp_path / "x.svg"), "'lstm' is not one of", "attention")


@pytest.mark.parametrize("args, fragments", [
    (["--collapse", "-1"], ["--collapse"]),
    (["--heads", "3"], ["--heads", "not divisible"]),
    (["--seq-len", "0"], ["--seq-len"]),
    (["--d-model", "abc"], ["--d-model"]),
    (["--format", "gif"], ["--format"]),
    (["--no-such-option"], ["No such option"]),
])
def test_bad_options_are_one_line_errors(tmp_path, args, fragments):
    assert_clean_error(_run("attention", "--out", tmp_path / "x.svg", *args), *fragments)


def test_out_must_name_a_known_format(tmp_path):
    assert_clean_error(_run("attention", "--out", tmp_path / "x.jpg"), "--out", ".jpg")
    assert_clean_error(_run("attention", "--out", tmp_path / "x.png", "--format", "svg"), "ends in .png")
    assert_clean_error(_run("attention"), "--out")


def test_missing_checkpoint_is_a_one_line_error(tmp_path):
    assert_clean_error(_run("transformer", "--checkpoint", tmp_path / "nothing", "--out", tmp_path / "x.svg"))


def test_missing_dot_is_a_one_line_error_and_the_source_is_written(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # Graphviz's dot can no longer be found
    line = assert_clean_error(_run("attention", "--out", tmp_path / "attn.svg"), "apt-get install graphviz")
    assert re.search(r"brew install graphviz.*graphviz\.org/download", line)
    assert (tmp_path / "attn.dot").read_text().startswith("digraph")
    assert not os.path.exists(tmp_path / "attn.svg")


@needs_dot
def test_backward_draws_the_gradients_of_a_real_loss(tmp_path):
    out = _draw(tmp_path, "encoder-layer", "--backward")
    source = (tmp_path / "out.dot").read_text(encoding="utf-8")
    assert "backward seeded by loss = mse_loss(output, a fixed random target)" in source
    norms = [float(n) for n in re.findall(r"grad \([^)]*\)\\nnorm ([-+0-9.e]+)", source)]
    assert len(norms) > 20
    # Through the layer's final layer norm, the gradient of sum(output) would be rounding noise (~1e-6)
    # everywhere. One gradient is truly zero: K's bias adds the same q·b to a whole row of scores,
    # which softmax ignores.
    tiny = [n for n in norms if n < 1e-3]
    assert len(tiny) == 1 and tiny[0] < 1e-6, sorted(norms)[:5]
    assert re.search(r'-> tensor\d+ \[label="grad \(16,\)\\nnorm ' + re.escape(f"{tiny[0]:.4g}"), source)
    assert out.exists()
