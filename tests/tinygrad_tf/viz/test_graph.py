"""Graph pictures (tinygrad_tf.viz.graph): real SVGs drawn by Graphviz's dot, parsed and checked against the traced graph."""
import collections
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import ops
from autograd import Tensor, module_scope
from helpers import needs_dot, parse_svg
from tinygrad_tf.viz import graph, trace

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))  # the repository


@pytest.fixture(autouse=True)
def _graphviz():
    return pytest.importorskip("graphviz")


# ---- reading an SVG drawn by dot ------------------------------------------------------------
def svg_of(tensor, **kwargs):
    return parse_svg(graph.to_dot(tensor, **kwargs).pipe(format="svg"))


def inside(inner, outer):
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def traced(root):
    """Ops, leaves and input edges reachable from `root` through ctx.inputs, counted independently of graph.py."""
    ops_, leaves, edges, seen, stack = [], [], 0, set(), [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t._ctx is None:
            leaves.append(t)
            continue
        ops_.append(t._ctx)
        for inp in t._ctx.inputs:
            if isinstance(inp, Tensor):
                edges += 1
                stack.append(inp)
    return ops_, leaves, edges


# ---- small models, written with ops and module scopes -----------------------------------------
class Linear:
    def __init__(self, path, n_in, n_out, rng):
        self.path = path
        self.weight = Tensor(rng.normal(size=(n_out, n_in)) / math.sqrt(n_in), requires_grad=True)
        self.bias = Tensor(rng.normal(size=n_out) * 0.1, requires_grad=True)
        self.weight.name, self.bias.name = f"{path}.weight", f"{path}.bias"

    def __call__(self, x):
        with module_scope(self.path):
            return ops.matmul(x, self.weight.T) + self.bias


def attention(batch=2, length=4, d_model=8, heads=2, seed=0):
    """(output, x, projections): multi-head self-attention recorded under `attn` and `attn.*_proj`."""
    rng = np.random.default_rng(seed)
    proj = {n: Linear(f"attn.{n}_proj", d_model, d_model, rng) for n in "qkvo"}
    x = Tensor(rng.normal(size=(batch, length, d_model)), requires_grad=True)
    mask = ops.causal_mask(length)
    d_k = d_model // heads
    with module_scope("attn"):
        q, k, v = ((proj[n](x).reshape(batch, length, heads, d_k).swapaxes(1, 2)) for n in "qkv")
        scores = ops.matmul(q, k.swapaxes(-1, -2)) / math.sqrt(d_k)
        weights = ops.softmax(ops.masked_fill(scores, ~mask, -math.inf), axis=-1)
        out = ops.matmul(weights, v).swapaxes(1, 2).reshape(batch, length, d_model)
        return proj["o"](out), x, proj


def op_names(nodes):
    return collections.Counter(n["texts"][0].split("(")[0] for title, n in nodes.items() if title.startswith("op"))


# ---- nodes ------------------------------------------------------------------------------------
@needs_dot
def test_attention_svg_has_every_op_and_counts_match_the_trace():
    out, _, _ = attention()
    nodes, _, edges = svg_of(out)
    traced_ops, leaves, n_edges = traced(out)
    names = op_names(nodes)
    for name in ("matmul", "softmax", "masked_fill", "div", "reshape", "transpose", "add"):
        assert names[name] > 0, name
    assert names == collections.Counter(ctx.name for ctx in traced_ops)
    assert names["matmul"] == 6  # Q, K, V, QK^T, weights x V, W_O
    assert sum(1 for t in nodes if t.startswith("tensor")) == len(leaves)  # x, 8 parameters, the mask
    assert [t for t in nodes if not t.startswith(("op", "tensor"))] == ["output"]
    assert len(edges) == n_edges + 1  # every op input, and the last op to the output node


@needs_dot
def test_leaf_kinds_names_shapes_and_constants():
    out, x, proj = attention()
    dot = graph.to_dot(out)
    nodes, _, _ = parse_svg(dot.pipe(format="svg"))
    by_first_line = {n["texts"][0]: n["texts"] for n in nodes.values()}
    assert by_first_line["attn.q_proj.weight"][1] == "(8, 8) float32"
    assert by_first_line["input"][1] == "(2, 4, 8) float32"
    assert by_first_line["constant"][1] == "(4, 4) bool"  # the mask, though it needs no gradient
    assert by_first_line["output"][1] == "(2, 4, 8) float32"
    assert "masked_fill(-inf)" in by_first_line
    assert "div(2)" in by_first_line  # the scale 1/sqrt(d_k), d_k = 4
    # kinds differ by shape and colour
    styles = {kind: graph.STYLES[kind] for kind in ("op", "input", "parameter", "constant", "output")}
    assert len({s["shape"] for s in styles.values()}) == len({s["fillcolor"] for s in styles.values()}) == 5
    src = dot.source
    assert 'label="attn.q_proj.weight\\n(8, 8) float32' in src and "shape=box" in src and "shape=note" in src


@needs_dot
def test_values_of_tiny_tensors_and_gradient_summary():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    big = Tensor(np.ones((5, 5)), requires_grad=True)
    loss = (a * 2.0).sum() + big.sum()
    loss.backward()
    nodes, _, _ = svg_of(loss)
    texts = [n["texts"] for n in nodes.values()]
    a_node = next(t for t in texts if t[0] == "input" and t[1].startswith("(3,)"))
    assert a_node[2] == "[1. 2. 3.]"
    assert a_node[3] == f"grad norm {2 * math.sqrt(3):.4g}"
    big_node = next(t for t in texts if t[1].startswith("(5, 5)"))
    assert not any(line.startswith("[") for line in big_node)  # 25 elements: too many by default
    assert big_node[-1] == "grad norm 5"
    assert next(t for t in texts if t[0] == "output")[1:3] == ["scalar float32", "37."]  # a scalar's value
    nodes, _, _ = svg_of(loss, show_values=False)
    assert all(not line.startswith("[") for n in nodes.values() for line in n["texts"])
    nodes, _, _ = svg_of(loss, show_values=True)
    assert any(line.startswith("[[1. 1.") for n in nodes.values() for line in n["texts"])


@needs_dot
def test_broadcast_is_labelled_on_its_edge():
    x = Tensor(np.ones((2, 3, 4)), requires_grad=True)
    b = Tensor(np.ones(4), requires_grad=True)
    w = Tensor(np.ones((4, 4)), requires_grad=True)
    out = ops.matmul(x, w) + b
    nodes, _, edges = svg_of(out)
    b_title = next(t for t, n in nodes.items() if n["texts"][1].startswith("(4,)"))
    (edge,) = [e for e in edges if e["src"] == b_title]
    assert edge["texts"] == ["broadcast (4,) -> (2, 3, 4)"]
    x_title = next(t for t, n in nodes.items() if n["texts"][1].startswith("(2, 3, 4) float32") and n["texts"][0] == "input")
    assert not any("broadcast" in text for e in edges if e["src"] == x_title for text in e["texts"])


# ---- clusters ---------------------------------------------------------------------------------
@needs_dot
def test_clusters_are_the_nested_module_paths():
    out, _, proj = attention()
    nodes, clusters, _ = svg_of(out)
    paths = {"attn", "attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.o_proj"}
    assert {c["label"] for c in clusters.values()} == paths
    box = {c["label"]: c["box"] for c in clusters.values()}
    for name in "qkvo":
        assert inside(box[f"attn.{name}_proj"], box["attn"])  # nested, not side by side
    for name, n in nodes.items():  # parameters sit in their module's cluster
        if n["texts"][0].endswith((".weight", ".bias")):
            assert inside(n["box"], box[n["texts"][0].rpartition(".")[0]])
    softmax = next(n for n in nodes.values() if n["texts"][0].startswith("softmax"))
    assert inside(softmax["box"], box["attn"])
    assert not any(inside(softmax["box"], box[f"attn.{c}_proj"]) for c in "qkvo")
    x_node = next(n for n in nodes.values() if n["texts"][0] == "input")
    assert not inside(x_node["box"], box["attn"])  # inputs are drawn outside every module


def test_cluster_subgraphs_nest_in_the_source():
    out, _, _ = attention()
    src = graph.to_dot(out, legend=False).source
    opened = []
    depth_of = {}
    for line in src.splitlines():
        line = line.strip()
        if line.startswith("subgraph cluster_"):
            depth_of[line.split()[1]] = len(opened)
            opened.append(line.split()[1])
        elif line == "}" and opened:
            opened.pop()
    assert depth_of == {"cluster_attn": 0, "cluster_attn_q_proj": 1, "cluster_attn_k_proj": 1,
                        "cluster_attn_v_proj": 1, "cluster_attn_o_proj": 1}


# ---- collapse ---------------------------------------------------------------------------------
def transformer_logits(layers=2):
    nn = pytest.importorskip("tinygrad_tf.nn")
    import autograd

    autograd.manual_seed(0)
    model = nn.Transformer(11, 11, d_model=8, num_heads=2, num_encoder_layers=layers, num_decoder_layers=layers,
                           d_ff=16, dropout=0.0, max_len=16)
    rng = np.random.default_rng(0)
    return model(Tensor(rng.integers(1, 11, size=(2, 5))), Tensor(rng.integers(1, 11, size=(2, 4))))


@needs_dot
def test_collapsed_transformer_has_one_box_per_module_and_far_fewer_edges():
    logits = transformer_logits()
    full_nodes, full_clusters, full_edges = svg_of(logits)
    nodes, clusters, edges = svg_of(logits, collapse=2)
    traced_ops, _, n_edges = traced(logits)
    assert sum(1 for t in full_nodes if t.startswith("op")) == len(traced_ops)
    assert len(full_edges) == n_edges + 1
    boxes = {n["texts"][0]: n["texts"] for t, n in nodes.items() if t.startswith("module")}
    assert set(boxes) == {"encoder.layers.0", "encoder.layers.1", "decoder.layers.0", "decoder.layers.1"}
    assert boxes["encoder.layers.0"][1:3] == ["in (2, 5, 8), (2, 1, 1, 5)", "out (2, 5, 8)"]
    assert boxes["decoder.layers.1"][2] == "out (2, 4, 8)"
    inner = [ctx for ctx in traced_ops if (ctx.module or "").startswith("encoder.layers.0.") or ctx.module == "encoder.layers.0"]
    params = {id(p): p for ctx in inner for p in ctx.inputs
              if isinstance(p, Tensor) and p.name and p.name.startswith("encoder.layers.0.")}
    values = sum(p.size for p in params.values())
    assert boxes["encoder.layers.0"][3] == f"{len(inner)} ops, {len(params)} parameters ({values:,} values)"
    assert len(edges) * 4 < len(full_edges) and len(nodes) * 4 < len(full_nodes)
    labels = {c["label"] for c in clusters.values()}
    assert labels == {"src_embed", "tgt_embed", "positional", "encoder", "encoder.layers", "decoder",
                      "decoder.layers", "generator"}
    assert {c["label"] for c in full_clusters.values()} >= labels | {"decoder.layers.1.cross_attn.q_proj"}
    box = {c["label"]: c["box"] for c in clusters.values()}
    enc0 = next(n for n in nodes.values() if n["texts"][0] == "encoder.layers.0")
    assert inside(enc0["box"], box["encoder.layers"])

    nodes, clusters, _ = svg_of(logits, collapse=0)
    assert not clusters
    assert {n["texts"][0] for t, n in nodes.items() if t.startswith("module")} == {
        "src_embed", "tgt_embed", "positional", "encoder", "decoder", "generator"}


def test_collapse_and_show_values_are_checked():
    out, _, _ = attention()
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="collapse"):
            graph.to_dot(out, collapse=bad)
    with pytest.raises(ValueError, match="show_values"):
        graph.to_dot(out, show_values=-3)


# ---- backward ---------------------------------------------------------------------------------
@needs_dot
def test_show_backward_draws_reversed_labelled_edges_and_leaves_grad_alone():
    out, x, proj = attention()
    marker = Tensor(np.full((8, 8), 7.0))
    proj["q"].weight.grad = marker  # a gradient left from earlier: it must survive drawing
    before = {id(t): t.grad for t in (x, proj["k"].weight, proj["q"].bias)}
    nodes, _, forward_edges = svg_of(out)
    nodes, _, edges = svg_of(out, show_backward=True)
    assert proj["q"].weight.grad is marker and np.all(marker.numpy() == 7.0)
    assert all(t.grad is before[id(t)] for t in (x, proj["k"].weight, proj["q"].bias))
    forward = {(e["src"], e["dst"]) for e in forward_edges}
    backward = [e for e in edges if (e["src"], e["dst"]) not in forward]
    assert backward and all(e["texts"][0].startswith("grad (") and e["texts"][1].startswith("norm ") for e in backward)
    # every forward edge that carries a gradient has its reversed edge; the mask's has none
    mask = next(t for t, n in nodes.items() if n["texts"][0] == "constant")
    reversed_pairs = {(e["dst"], e["src"]) for e in backward}
    for src, dst in forward:
        assert ((src, dst) in reversed_pairs) == (src != mask), (src, dst)
    # the norms are those of a real backward (seeded with ones = backward of the sum)
    title = {n["texts"][0]: t for t, n in nodes.items()}
    proj["q"].weight.grad = None
    out.sum().backward()
    for tensor in (proj["v"].bias, proj["o"].weight):
        (edge,) = [e for e in backward if e["dst"] == title[tensor.name]]
        assert edge["texts"] == [f"grad {tensor.shape}", f"norm {np.linalg.norm(tensor.grad.numpy()):.4g}"]
    assert len([e for e in backward if e["dst"] == title["input"]]) == 3  # x feeds Q, K and V


def test_show_backward_needs_a_tensor_that_requires_grad():
    t = Tensor(np.ones(3)) * 2.0
    with pytest.raises(ValueError, match="does not require grad"):
        graph.to_dot(t, show_backward=True)


def test_show_backward_after_the_graph_was_freed_says_so():
    out, _, _ = attention()
    out.sum().backward()  # frees saved tensors
    with pytest.raises(RuntimeError, match="retain_graph"):
        graph.to_dot(out, show_backward=True)


# ---- marks and a backward pass in progress ------------------------------------------------------
def test_highlight_and_visited_mark_the_nodes_of_tensors_and_ops():
    out, x, proj = attention()
    softmax = next(ctx for ctx in traced(out)[0] if ctx.name == "softmax")
    plain = graph.to_dot(out).source
    assert "fillcolor=orange" not in plain and "fillcolor=lightblue" not in plain and "light blue node" not in plain
    src = graph.to_dot(out, highlight=softmax, visited=[x, proj["q"].weight, out]).source
    (highlighted,) = [line for line in src.splitlines() if "fillcolor=orange" in line]
    assert 'label="softmax(-1)' in highlighted
    visited = [line for line in src.splitlines() if "fillcolor=lightblue" in line]
    assert len(visited) == 3  # x, the weight, and the op that made `out`
    assert any('label="input' in line for line in visited) and any('label="attn.q_proj.weight' in line for line in visited)
    assert "orange node: highlighted" in src and "light blue node: visited" in src  # in the legend
    with pytest.raises(ValueError, match="not in the graph"):
        graph.to_dot(out, visited=[Tensor([1.0])])


@needs_dot
def test_show_backward_with_the_steps_so_far_draws_what_they_sent_in_one_layout():
    out, _, _ = attention()
    loss = out.sum()
    steps = list(trace.backward_steps(loss))
    assert not any(s.is_leaf for s in steps[:10])  # no leaf has .grad yet, so the node labels stay the same
    boxes = None
    for n in (1, 4, 10):
        nodes, _, edges = svg_of(loss, show_backward=steps[:n], highlight=steps[n - 1].tensor,
                                 visited=[s.tensor for s in steps[:n - 1]])
        drawn = sorted(text for e in edges for text in e["texts"] if re.fullmatch(r"\d\.\d\de[-+]\d\d", text))
        sent = [g for s in steps[:n] for g in s.grad_inputs if g is not None] + [steps[0].grad_output]
        assert drawn == sorted(f"{np.linalg.norm(g.numpy()):.2e}" for g in sent)
        if boxes is None:
            boxes = {title: node["box"] for title, node in nodes.items()}
        assert {title: node["box"] for title, node in nodes.items()} == boxes  # the same layout in every frame


# ---- walking ----------------------------------------------------------------------------------
def test_deep_graph_walks_without_recursion():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    src = graph.to_dot(y, show_backward=True).source
    assert src.count("label=\"mul(1)") == 5000


def test_a_leaf_is_drawn_as_the_output():
    x = Tensor([1.0, 2.0], requires_grad=True)
    src = graph.to_dot(x, legend=False).source
    assert "doubleoctagon" in src and "->" not in src


# ---- render -----------------------------------------------------------------------------------
@needs_dot
@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_render_writes_picture_and_source(tmp_path, fmt, magic):
    out, _, _ = attention()
    path = graph.render(out, tmp_path / f"attn.{fmt}", collapse=1)
    assert path == str(tmp_path / f"attn.{fmt}")
    with open(path, "rb") as f:
        assert f.read().startswith(magic)
    assert (tmp_path / "attn.dot").read_text().startswith("digraph")
    assert graph.render(out, tmp_path / "plain", format=fmt) == str(tmp_path / f"plain.{fmt}")


def test_render_rejects_a_format_the_path_contradicts(tmp_path):
    out, _, _ = attention()
    with pytest.raises(ValueError, match="ends in .png"):
        graph.render(out, tmp_path / "a.png", format="svg")
    with pytest.raises(ValueError, match="format must be one of"):
        graph.render(out, tmp_path / "a", format="gif")


def test_render_without_dot_writes_the_source_and_says_how_to_install(tmp_path, monkeypatch):
    out, _, _ = attention()
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # graphviz runs `dot` through PATH: now it is missing
    with pytest.raises(RuntimeError) as e:
        graph.render(out, tmp_path / "attn.svg")
    assert "apt-get install graphviz" in str(e.value) and "brew install graphviz" in str(e.value)
    assert "https://graphviz.org/download/" in str(e.value)
    assert (tmp_path / "attn.dot").read_text().startswith("digraph")
    assert not (tmp_path / "attn.svg").exists()


def test_write_without_source_and_without_dot_says_how_to_install(tmp_path, monkeypatch):
    out, _, _ = attention()
    dot = graph.to_dot(out)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert not graph.dot_available()
    with pytest.raises(RuntimeError) as e:
        graph.write(dot, tmp_path / "frame.png", "png", source=False)
    assert graph.DOT_MISSING in str(e.value) and "its source" not in str(e.value)
    assert sorted(os.listdir(tmp_path)) == ["bin"]  # neither the picture nor its source


def test_viz_imports_without_the_graphviz_package():
    code = (
        "import sys; sys.modules['graphviz'] = None\n"
        "import autograd, tinygrad_tf.viz.graph\n"
        "from autograd import Tensor\n"
        "try:\n"
        "    tinygrad_tf.viz.graph.to_dot(Tensor([1.0], requires_grad=True) * 2)\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "pip install graphviz" in result.stdout
