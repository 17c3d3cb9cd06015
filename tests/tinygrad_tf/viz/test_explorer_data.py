"""The explorer's embedded data (tinygrad_tf.viz.explorer): the engine's own numbers, backward's order,
the size limit, the drawing's map to the description, tokens and the decoding view."""
import json
import re

import numpy as np
import pytest

import autograd
from helpers import needs_dot
from tinygrad_tf.train import load_translator
from tinygrad_tf.viz import explorer, specimens
from tinygrad_tf.viz.description import GraphDescription

pytestmark = needs_dot


@pytest.fixture(autouse=True)
def _graphviz():
    return pytest.importorskip("graphviz")


def page_of(name, collapse=None, value_limit=4096, **sizes):
    s = specimens.random_specimen(name, batch=1, **sizes)
    return explorer.build(s, specimens.loss_of(s), collapse=collapse, value_limit=value_limit), s


def embedded(page_html):
    """The JSON of the page's <script id="tinygrad-tf-graph">, parsed from the HTML text."""
    m = re.search(r'<script type="application/json" id="tinygrad-tf-graph">(.*?)</script>', page_html, re.S)
    return json.loads(m.group(1))


def nested(values):
    """A JSON value list as an array ('inf' strings back to floats)."""
    return np.array(json.loads(json.dumps(values).replace('"-inf"', "-Infinity").replace('"inf"', "Infinity")
                               .replace('"nan"', "NaN")), dtype=np.float64)


@pytest.mark.parametrize("name", ["attention", "encoder-layer", "decoder-layer", "transformer", "mlp"])
def test_parameter_grads_are_what_backward_leaves(name):
    page, walked = page_of(name, d_model=8, heads=2, layers=1, seq_len=3)
    fresh = specimens.random_specimen(name, d_model=8, heads=2, layers=1, seq_len=3, batch=1)
    specimens.loss_of(fresh).backward()  # the same seeded model, plain backward()
    data = embedded(page.html)
    by_name = {n["name"]: n for n in data["nodes"] if n["kind"] == "parameter"}
    params = dict(fresh.root.named_parameters())
    drawn = {n for n in by_name}
    assert drawn and drawn <= set(params)  # every parameter on the graph; a holder's names are the paths
    for pname in drawn:
        expected = params[pname].grad.numpy()
        node = by_name[pname]
        np.testing.assert_allclose(nested(node["grad"]), expected, rtol=2e-4, atol=1e-7, err_msg=pname)
        assert node["grad_summary"]["norm"] == pytest.approx(np.linalg.norm(expected), rel=1e-5)
        np.testing.assert_allclose(nested(node["value"]), params[pname].numpy(), rtol=2e-4, atol=1e-7)
    for pname, p in walked.root.named_parameters():  # building the page left backward()'s .grad
        if pname in drawn:
            np.testing.assert_array_equal(p.grad.numpy(), params[pname].grad.numpy(), err_msg=pname)


def test_steps_are_backwards_order():
    page, _ = page_of("encoder-layer", d_model=8, heads=2, seq_len=3)
    fresh = specimens.random_specimen("encoder-layer", d_model=8, heads=2, seq_len=3, batch=1)
    loss = specimens.loss_of(fresh)
    description = GraphDescription(loss)
    engine_order = [description.node_of(s.ctx if s.ctx is not None else s.tensor).id
                    for s in autograd.backward_steps(loss, None)]
    order = [s["node"] for s in page.data["steps"]]
    assert sorted(order) == sorted(engine_order) and [s["index"] for s in page.data["steps"]] == list(range(len(order)))
    kinds = {n["id"]: n["kind"] for n in page.data["nodes"]}
    leaf = {node for node in order if kinds[node] in ("input", "parameter")}
    assert [n for n in order if n not in leaf] == [n for n in engine_order if n not in leaf]  # ops: the engine's order
    for k, node in enumerate(order):  # each leaf's step right after the last op that sent it a gradient
        if node in leaf:
            senders = [j for j, s in enumerate(page.data["steps"]) if j < k and s["node"] not in leaf and any(
                e["source"] == node and e["target"] == s["node"] and s["grad_inputs"][e["input_index"]] is not None
                for e in page.data["edges"])]
            assert senders and all(order[j] in leaf for j in range(senders[-1] + 1, k)), node
    # each node after every op that used it: its gradient is complete when backward reaches it
    position = {node: k for k, node in enumerate(order)}
    for e in page.data["edges"]:
        if e["source"] in position and e["target"] in position:
            assert position[e["target"]] < position[e["source"]], e
    uses = {}
    for e in page.data["edges"]:
        if e["target"] in position:
            uses[e["source"]] = uses.get(e["source"], 0) + 1
    for s in page.data["steps"]:  # "summed from N uses": the uses that sent it a gradient
        assert s["paths"] <= uses.get(s["node"], 1)
    x_step = next(s for s in page.data["steps"] if page.data["nodes"][int(s["node"][1:])]["kind"] == "input")
    assert x_step["paths"] == 4  # the layer input feeds Q, K, V and the residual connection


def test_values_respect_the_size_limit_and_summaries_are_always_there():
    limit = 20
    page, _ = page_of("attention", value_limit=limit, d_model=8, heads=2, seq_len=4)
    big = small = 0
    for node in page.data["nodes"]:
        size = int(np.prod(node["shape"]))
        assert set(node["summary"]) == {"norm", "min", "max", "mean"}
        if size > limit:
            big += 1
            assert node["value"] is None and node["grad"] is None
        else:
            small += 1
            assert nested(node["value"]).shape == tuple(node["shape"])
        if node["step"] is not None:
            assert node["grad_summary"] is not None
    assert big and small
    assert page.data["value_limit"] == limit


def test_values_are_the_forward_values():
    s = specimens.random_specimen("attention", d_model=8, heads=2, seq_len=4, batch=1)
    page = explorer.build(s, specimens.loss_of(s))
    weights = next(n for n in page.data["nodes"] if n["role"] == "attention weights")
    np.testing.assert_allclose(nested(weights["value"]), s.root.self_attn.attention_weights.numpy(), rtol=1e-4, atol=1e-8)
    masked = next(n for n in page.data["nodes"] if n["role"] == "mask (causal)")
    assert nested(masked["value"])[0, 0, 0, 1] == -np.inf  # the future, masked: JSON 'inf' strings survive
    assert weights["axes"] == dict(rows=["q0", "q1", "q2", "q3"], cols=["k0", "k1", "k2", "k3"])


def test_checks_are_small_and_present_for_ops():
    page, _ = page_of("attention", d_model=8, heads=2, seq_len=3)
    kinds = {n["id"]: n["kind"] for n in page.data["nodes"]}
    for s in page.data["steps"]:
        if s["op"] == "accumulate_grad":
            assert s["check"] is None
        elif kinds[s["node"]] == "op" and any(g is not None for g in s["grad_inputs"]):
            assert isinstance(s["check"], float) and s["check"] < 1e-3, s


@pytest.mark.parametrize("collapse", [None, 2])
def test_the_drawing_maps_every_node_to_one_element(collapse):
    page, _ = page_of("transformer", collapse=collapse, d_model=8, heads=2, layers=1, seq_len=3)
    data = page.data
    drawn = data["drawing"]["nodes"]
    members = [n for info in drawn.values() for n in info["nodes"]]
    assert sorted(members) == sorted(n["id"] for n in data["nodes"])  # each node drawn exactly once
    assert all(data["drawn_as"][n] == element for element, info in drawn.items() for n in info["nodes"])
    elements = re.findall(r'<g id="([^"]+)" class="node" data-node-id="([^"]+)"', page.html)
    assert sorted(a for a, _ in elements) == sorted(drawn) and all(a == b for a, b in elements)
    if collapse is None:
        assert set(drawn) == {n["id"] for n in data["nodes"]}
    else:
        boxes = sorted(info["module"] for info in drawn.values() if info["kind"] == "module")
        assert boxes == ["decoder.layers.0", "encoder.layers.0"]
        assert len(drawn) < len(data["nodes"])
    clusters = re.findall(r'class="cluster" data-cluster="([^"]+)"', page.html)
    assert sorted(clusters) == sorted(data["drawing"]["clusters"].values())
    step_of = {s["node"]: s["index"] for s in reversed(data["steps"])}
    for element, edge in data["drawing"]["edges"].items():
        assert f'<g id="{element}" class="edge" data-edge="{element}"' in page.html
        if edge["backward"]:  # a gradient appears with the step of the op that sent it
            sent = [step_of.get(target, 0) for target, _ in edge["uses"]]
            assert edge["sent_at"] == min(sent)


def test_page_is_self_contained_and_under_3_mb():
    page, _ = page_of("transformer", collapse=2)  # the default sizes of `tinygrad-tf explore transformer`
    assert len(page.html.encode()) < 3e6
    namespaces = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page.html)) <= namespaces
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page.html)
    assert embedded(page.html) == json.loads(json.dumps(page.data))


def test_checkpoint_sentence_labels_axes_and_decodes(copy_run):
    s = specimens.checkpoint_specimen("transformer", copy_run, sentence="3 1 4")
    page = explorer.build(s, specimens.loss_of(s), collapse=2)
    data = page.data
    assert data["tokens"]["src"] == ["3", "1", "4", "<eos>"]
    translator = load_translator(copy_run, "cpu")
    (expected,) = translator.translate_tokens([["3", "1", "4"]])
    chosen = [step["token"] for step in data["decoding"]]
    assert [t for t in chosen if t not in ("<eos>",)][: len(expected)] == expected
    assert data["tokens"]["tgt"][0] == "<bos>"
    for step in data["decoding"]:
        probs = [p for _, p in step["top"]]
        assert step["top"][0][0] == step["token"] and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-4
    weights = {n["module"]: n["axes"] for n in data["nodes"] if n["role"] == "attention weights"}
    assert weights["encoder.layers.0.self_attn"] == dict(rows=data["tokens"]["src"], cols=data["tokens"]["src"])
    assert weights["decoder.layers.0.self_attn"] == dict(rows=data["tokens"]["tgt"], cols=data["tokens"]["tgt"])
    assert weights["decoder.layers.0.cross_attn"] == dict(rows=data["tokens"]["tgt"], cols=data["tokens"]["src"])
    logits = s.output.numpy()  # the loss is the cross-entropy of the model's own greedy output
    assert logits.shape[1] == len(data["tokens"]["tgt"])


def test_checkpoint_layer_reads_the_embedded_sentence(copy_run):
    s = specimens.checkpoint_specimen("attention", copy_run, sentence="2 2 7 5")
    page = explorer.build(s, specimens.loss_of(s))
    (weights,) = [n for n in page.data["nodes"] if n["role"] == "attention weights"]
    assert weights["axes"]["rows"] == ["2", "2", "7", "5", "<eos>"]
    translator = load_translator(copy_run, "cpu")
    model = translator.model
    ids = translator.src_vocab.encode_source(["2", "2", "7", "5"])
    d = model.d_model  # the layer's input: the embedded tokens, scaled by sqrt(d_model), plus the positions
    expected = model.src_embed.weight.numpy()[ids] * np.sqrt(d) + model.positional.pe.numpy()[: len(ids)]
    x = next(n for n in page.data["nodes"] if n["kind"] == "input")
    np.testing.assert_allclose(nested(x["value"])[0], expected, rtol=1e-4, atol=1e-5)


def test_an_ops_backward_rule_is_embedded_where_it_states_one(monkeypatch):
    s = specimens.random_specimen("attention", d_model=8, heads=2, seq_len=3, batch=1)
    loss = specimens.loss_of(s)
    softmax = next(ctx for ctx in GraphDescription(loss).ops if ctx.name == "softmax").fn
    monkeypatch.setattr(softmax, "rule", "dx = y ⊙ (dy − Σ dy ⊙ y)")
    page = explorer.build(s, loss)
    for node in page.data["nodes"]:
        if node["op"] == "softmax":
            assert node["rule"] == "dx = y ⊙ (dy − Σ dy ⊙ y)"
        elif node["kind"] != "op":
            assert node["rule"] is None, node["title"]  # leaves have no op
    (step,) = [st for st in page.data["steps"] if st["op"] == "softmax"]
    assert step["rule"] == "dx = y ⊙ (dy − Σ dy ⊙ y)"
    assert "dx = y ⊙ (dy − Σ dy ⊙ y)" in page.html  # in the embedded data, for the panel to show


def test_the_page_states_its_loss_in_words_and_formula():
    page, s = page_of("attention", d_model=8, heads=2, seq_len=3)
    loss = page.data["loss"]
    out, target = s.output.numpy().astype(np.float64), s.target.numpy().astype(np.float64)
    assert loss["value"] == pytest.approx(np.mean((out - target) ** 2), rel=1e-5)  # what the words say it is
    assert loss["formula"] == specimens.MEAN_SQUARED and "random target" in loss["words"]
    nodes = {n["id"]: n for n in page.data["nodes"]}
    assert nodes[loss["node"]]["step"] == 0 and "mean squared error" in nodes[loss["node"]]["role"]
    assert any(n["kind"] == "constant" and n["title"] == "target" for n in nodes.values())


def test_a_checkpoint_sentences_loss_is_against_its_own_translation(copy_run):
    s = specimens.checkpoint_specimen("transformer", copy_run, sentence="3 1 4")
    page = explorer.build(s, specimens.loss_of(s), collapse=2, check=False)
    loss = page.data["loss"]
    assert "own greedy translation" in loss["words"] and loss["formula"] == specimens.CROSS_ENTROPY
    nodes = {n["id"]: n for n in page.data["nodes"]}
    targets = [e["source"] for e in page.data["edges"] if e["target"] == loss["node"] and e["input_index"] == 1]
    assert [nodes[t]["title"] for t in targets] == ["target"]  # the node the words point at
    itos = load_translator(copy_run, "cpu").tgt_vocab.itos
    assert [itos[i] for i in s.target.numpy()[0]] == [step["token"] for step in page.data["decoding"]]
    logits = s.output.numpy()[0].astype(np.float64)
    log_probs = logits - logits.max(-1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(-1, keepdims=True))
    ids = s.target.numpy()[0]
    assert loss["value"] == pytest.approx(-log_probs[np.arange(len(ids)), ids].mean(), rel=1e-5)


def test_unknown_words_are_labelled_and_warned(copy_run):
    s = specimens.checkpoint_specimen("attention", copy_run, sentence="3 zebra okapi 4")
    page = explorer.build(s, specimens.loss_of(s), check=False)
    assert page.data["tokens"]["src"] == ["3", "<unk> (zebra)", "<unk> (okapi)", "4", "<eos>"]
    assert len(page.data["warnings"]) == 1 and "zebra, okapi" in page.data["warnings"][0]


def test_forward_steps_are_the_models_own_values_in_forward_order():
    page, s = page_of("attention", d_model=8, heads=2, seq_len=3)
    data = page.data
    nodes = {n["id"]: n for n in data["nodes"]}
    forward = data["forward"]
    assert sorted(forward) == sorted(n["id"] for n in data["nodes"] if n["kind"] == "op")
    made = {}
    for k, node in enumerate(forward):  # every op after the ops it reads: the forward pass's own order
        assert all(made[e["source"]] < k for e in data["edges"]
                   if e["target"] == node and nodes[e["source"]]["kind"] == "op"), node
        made[node] = k
    attn = s.root.self_attn
    weights = next(n for n in forward if nodes[n]["role"] == "attention weights")
    np.testing.assert_allclose(nested(nodes[weights]["value"]), attn.attention_weights.numpy(), rtol=1e-4, atol=1e-6)
    q = next(n for n in forward if nodes[n]["role"] == "Q")
    x = next(n for n in data["nodes"] if n["kind"] == "input")
    expected_q = nested(x["value"]) @ attn.q_proj.weight.numpy().T + attn.q_proj.bias.numpy()
    np.testing.assert_allclose(nested(nodes[q]["value"]), expected_q, rtol=5e-4, atol=2e-4)  # 5 significant digits embedded
    assert nodes[forward[-1]]["value"] == pytest.approx(data["loss"]["value"], rel=1e-5)  # it ends at the loss
