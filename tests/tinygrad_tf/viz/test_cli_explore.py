"""`tinygrad-tf explore`: the page it writes, --open, and one-line errors for bad options."""
import json
import re
import webbrowser

import pytest

from helpers import assert_clean_error, needs_dot, run_cli


@pytest.fixture(autouse=True)
def _graphviz():
    return pytest.importorskip("graphviz")


def _run(*args):
    return run_cli("explore", *args)


def _data(path):
    text = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'id="tinygrad-tf-graph">(.*?)</script>', text, re.S).group(1))


@needs_dot
@pytest.mark.parametrize("args, ops", [
    (("attention", "--d-model", 8, "--heads", 2, "--seq-len", 3), {"softmax", "linear", "mean"}),
    (("mlp", "--composed", "--d-model", 4), {"relu", "matmul", "add"}),
    (("decoder-layer", "--d-model", 8, "--heads", 4, "--seq-len", 2, "--no-check"), {"layer_norm", "softmax"}),
])
def test_writes_the_page(tmp_path, args, ops):
    out = tmp_path / "explore.html"
    result = _run(*args, "--out", out)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(rf"wrote {re.escape(str(out))} \(\d+ nodes, \d+ backward steps, [\d.]+ MB\); open it in a browser\n",
                        result.output)
    data = _data(out)
    assert ops <= {n["op"] for n in data["nodes"]}
    assert data["steps"] and data["model"] == args[0]
    checks = [s["check"] for s in data["steps"]]
    assert any(c is not None for c in checks) == ("--no-check" not in args)


@needs_dot
def test_open_opens_the_written_page(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    out = tmp_path / "a.html"
    assert _run("mlp", "--d-model", 2, "--seq-len", 2, "--out", out, "--open").exit_code == 0
    assert opened == [f"file://{out}"]


@needs_dot
def test_checkpoint_and_sentence(tmp_path, copy_run):
    out = tmp_path / "t.html"
    result = _run("transformer", "--checkpoint", copy_run, "--sentence", "5 6 7", "--collapse", 2, "--out", out)
    assert result.exit_code == 0, result.output
    data = _data(out)
    assert data["tokens"]["src"] == ["5", "6", "7", "<eos>"] and data["decoding"]
    assert data["loss"]["op"] == "cross_entropy"


@pytest.mark.parametrize("args, fragments", [
    (("attention", "--sentence", "1 2"), ("--sentence needs --checkpoint",)),
    (("attention", "--d-model", 10, "--heads", 4), ("--d-model 10", "--heads 4")),
    (("attention", "--seq-len", 0), ("--seq-len",)),
    (("attention", "--collapse", -1), ("--collapse",)),
    (("attention", "--value-limit", -5), ("--value-limit",)),
    (("lstm",), ("lstm",)),
])
def test_bad_options_are_one_line_errors(tmp_path, args, fragments):
    assert_clean_error(_run(*args, "--out", tmp_path / "x.html"), *fragments)
    assert not (tmp_path / "x.html").exists()


def test_out_must_be_a_page(tmp_path):
    assert_clean_error(_run("attention", "--out", tmp_path / "x.svg"), "x.svg", ".html")
    assert_clean_error(_run("attention"), "--out")


def test_checkpoint_errors(tmp_path, copy_run):
    out = tmp_path / "x.html"
    assert_clean_error(_run("attention", "--checkpoint", tmp_path / "nothing", "--out", out))
    assert_clean_error(_run("attention", "--checkpoint", copy_run, "--heads", 4, "--out", out), "--heads", "checkpoint")
    assert_clean_error(_run("mlp", "--checkpoint", copy_run, "--out", out), "mlp")
    assert_clean_error(_run("attention", "--checkpoint", copy_run, "--sentence", "  ", "--out", out), "--sentence")
    assert not out.exists()


def test_missing_dot_is_a_one_line_error(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert_clean_error(_run("attention", "--out", tmp_path / "x.html"), "apt-get install graphviz")
    assert not (tmp_path / "x.html").exists()


def test_the_transformer_opens_with_its_layers_as_boxes(tmp_path):
    out = tmp_path / "t.html"
    result = _run("transformer", "--d-model", 8, "--layers", 1, "--no-check", "--out", out)
    assert result.exit_code == 0, result.output
    data = _data(out)
    assert data["collapse"] == 2
    boxes = {e: info for e, info in data["drawing"]["nodes"].items() if e.startswith("box:")}
    assert "box:encoder.layers.0" in boxes and all(len(info["nodes"]) > 1 for info in boxes.values())
    whole = tmp_path / "whole.html"
    assert _run("transformer", "--d-model", 8, "--layers", 1, "--no-check", "--collapse", 9, "--out", whole).exit_code == 0
    assert not any(e.startswith("box:") for e in _data(whole)["drawing"]["nodes"])


@needs_dot
def test_the_side_panel_links_the_tours_picture_of_each_concept(tmp_path):
    from tinygrad_tf import tour

    pictures = tmp_path / "tour"
    pictures.mkdir()
    for file in tour.FILES:
        (pictures / file).write_bytes(b"")  # the link needs only the file to exist
    (tmp_path / "pages").mkdir()
    out = tmp_path / "pages" / "t.html"
    result = _run("decoder-layer", "--d-model", 8, "--heads", 2, "--seq-len", 3, "--no-check", "--tour", pictures,
                  "--out", out)
    assert result.exit_code == 0, result.output
    concepts = {(n["role"], n["module"]): n["concept"] for n in _data(out)["nodes"] if n["role"]}
    by_role = {role: c for (role, module), c in concepts.items() if "cross_attn" not in (module or "")}
    # a decoder layer: its self-attention's mask and weights are the causal mask picture's
    assert by_role["Q"]["file"] == "03-qkv.png" and by_role["mask"]["file"] == "11-causal-mask.png"
    cross = [c for (role, module), c in concepts.items() if role == "attention weights" and "cross_attn" in module]
    assert cross and all(c["file"] == "10-cross-attention.png" for c in cross)
    for c in (c for c in concepts.values() if c):  # each link leads from the page to the picture
        assert (out.parent / c["href"]).resolve() == (pictures / c["file"]).resolve()
    bare = tmp_path / "bare.html"
    assert _run("attention", "--d-model", 8, "--out", bare).exit_code == 0
    nodes = _data(bare)["nodes"]
    assert all(n["concept"] is None or n["concept"]["href"] is None for n in nodes)  # no --tour: named, not linked
    assert next(n for n in nodes if n["role"] == "mask (causal)")["concept"]["file"] == "11-causal-mask.png"
