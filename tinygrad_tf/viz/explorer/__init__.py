"""The backprop explorer: one self-contained HTML page of a recorded graph, forward and backward.

    from tinygrad_tf.viz import describe, explorer, specimens
    s = specimens.random_specimen("attention", batch=1)
    page = explorer.build(s, specimens.loss_of(s))   # backward walked, every step checked
    page.write("explore.html")                       # open it in any browser, offline

The page holds everything inline: the graph drawn by `viz.graph` (Graphviz
SVG, each drawn node carrying `data-node-id`), the style, one script
(the files SCRIPTS joined into one, each a few small functions) and the data, embedded as
`<script type="application/json" id="tinygrad-tf-graph">`: the description's
`to_dict()` (nodes, edges, steps) plus what the page needs to show it:

    drawing     nodes: {element id: {nodes: [node ids], kind, cluster, module}}, one entry
                per drawn node element (`data-node-id` = element id): without
                --collapse exactly one per description node, the same id; with it a
                module box "box:<path>" stands for several (also `data-node-ids`);
                edges: {element id: {source, target, uses, backward, sent_at}} (a
                backward edge appears at step `sent_at`); clusters: {element id: path}
    drawn_as    {node id: element id drawing it}
    axes        on attention-weights nodes: {rows, cols} labels of the query and key axes
    tokens, decoding, title, model: what the page says about the model
    loss        {op, value, words, formula, node}: the loss walked from, stated in words and as a formula
    warnings    sentences the page shows first (a sentence the model cannot read)
    concept     on a node playing one of the tour's concepts: {title, caption, file, href} of its picture
    forward     the op nodes in the order the forward pass computed them (the page steps through
                them before the backward pass: step -1 is "forward done", steps below it the forward)
The page exposes `window.explorer` (step(n), next(), prev(), current(), ...).
"""
import contextlib
import html
import json
import os
import re
from dataclasses import dataclass
from importlib import resources

from .. import graph
from ..description import OP, VALUE_LIMIT, GraphDescription
from ..layout import MODULE
from ..records import LEAF_OP

DATA_ID = "tinygrad-tf-graph"
ATTENTION_ROLE = "attention weights"
SCRIPTS = ("data.js", "heatmap.js", "panel.js", "graph.js", "main.js")  # joined in this order into one script


@dataclass
class Page:
    """A built page: its `data` (the embedded JSON, as a dict) and the `html` text."""

    data: dict
    html: str

    def write(self, path):
        """Write the page to `path` (folders made as needed); returns the path."""
        path = os.fspath(path)
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html)
        return path


def build(specimen, loss, collapse=None, value_limit=VALUE_LIMIT, check=True, check_elements=200, title=None,
          concept=None):
    """Walk backward from `loss` through `specimen`'s graph and build the explorer page.

    Args:
        specimen: a `viz.specimens.Specimen` (its tokens and decoding label the page).
        loss: the single value to walk backward from (`specimens.loss_of(specimen)`).
        collapse: draw modules deeper than this many path components as one box each.
        value_limit: tensors with more elements are embedded as summaries only.
        check: compare every op step with central differences of its op alone.
        check_elements: at most this many elements per input in each check.
        title: the page's heading (default: the specimen's title).
        concept: a function (role, module) -> {title, caption, file, href} or None: the tour picture the side
            panel shows beside a node playing one of the tour's concepts (`tour.concepts.concept_finder`).

    Leaves every parameter's `.grad` as `loss.backward()` would.
    """
    description = GraphDescription(loss).run_backward(check=check, max_check_elements=check_elements)
    with _grads_hidden(description.leaves):  # the picture is the forward pass; the page adds the gradients
        picture = graph.drawing(description, collapse=collapse, show_backward=description.steps, show_values=False,
                                legend=True, ids=True)
    data = page_data(description, picture, specimen, value_limit, concept)
    data["title"] = title or specimen.title
    data["collapse"] = collapse
    return Page(data, page_html(data, svg_of(picture, data)))


@contextlib.contextmanager
def _grads_hidden(tensors):
    """Leave `.grad` unset on `tensors` inside the block (node labels then show no gradient norm)."""
    kept = [(t, t.grad) for t in tensors]
    for t, _ in kept:
        t.grad = None
    try:
        yield
    finally:
        for t, grad in kept:
            t.grad = grad


def page_data(description, picture, specimen, value_limit=VALUE_LIMIT, concept=None):
    """The embedded JSON (see the module docstring) as a dict."""
    data = description.to_dict(value_limit)
    data["steps"] = leaves_after_their_last_sender(data["steps"], data["edges"])
    step_of = {}
    for step in data["steps"]:
        step_of.setdefault(step["node"], step["index"])
    if description.output_node is not None and data["steps"]:
        step_of[description.output_node.id] = 0  # the seed: the first step sends it
    edges = {}
    for element, edge in picture.edges.items():
        sent = [step_of[target] for target, _ in edge["uses"] if target in step_of]
        edges[element] = dict(edge, sent_at=min(sent) if edge["backward"] and sent else None)
    data["drawing"] = dict(nodes=picture.nodes, edges=edges, clusters=picture.clusters)
    data["drawn_as"] = {node: element for element, info in picture.nodes.items() for node in info["nodes"]}
    for node in data["nodes"]:
        node["step"] = step_of.get(node["id"])
        node["axes"] = _axes(specimen, node) if node["role"] == ATTENTION_ROLE else None
        node["concept"] = concept(node["role"], node["module"]) if concept and node["role"] else None
    data["tokens"] = specimen.tokens or None
    data["decoding"] = specimen.decoding
    data["model"] = specimen.name
    words, formula = specimen.loss or (None, None)
    root_node = description.node_of(description.root)
    data["loss"] = dict(op=description.root._ctx.name if description.root._ctx else None,
                        value=float(description.root.item()), words=words, formula=formula, node=root_node.id)
    data["warnings"] = list(specimen.warnings)
    data["forward"] = [n["id"] for n in data["nodes"] if n["kind"] == OP]  # the order the forward pass made them
    return data


def leaves_after_their_last_sender(steps, edges):
    """The steps with each leaf's "added into .grad" step moved right after the last op step that sent it a
    gradient (where its .grad becomes complete), instead of all leaves at the end as the engine runs them.

    Ops keep the engine's order; each step's "index" becomes its place on the page ("engine_index" keeps
    the engine's).
    """
    senders = {}  # leaf node id -> the op steps sending it a gradient
    inputs = {}
    for e in edges:
        inputs.setdefault(e["target"], []).append(e)
    ops, leaves = [], {}
    for step in steps:
        if step["op"] == LEAF_OP:
            leaves[step["node"]] = step
            continue
        ops.append(step)
        for e in inputs.get(step["node"], ()):
            if step["grad_inputs"][e["input_index"]] is not None:
                senders.setdefault(e["source"], []).append(step["index"])
    after = {}
    for node, step in leaves.items():
        after.setdefault(max(senders.get(node, [-1])), []).append(step)
    ordered = after.get(-1, [])  # a leaf no op sent to (the loss itself, when it is a leaf) comes first
    for step in ops:
        ordered += [step] + after.get(step["index"], [])
    return [dict(step, index=k, engine_index=step["index"]) for k, step in enumerate(ordered)]


def _axes(specimen, node):
    """Labels of an attention-weights node's query (rows) and key (columns) axes."""
    q_len, k_len = node["shape"][-2:]
    found = specimen.axis_tokens(node["module"])
    rows, cols = found if found else (None, None)
    rows = rows if rows and len(rows) == q_len else [f"q{i}" for i in range(q_len)]
    cols = cols if cols and len(cols) == k_len else [f"k{j}" for j in range(k_len)]
    return dict(rows=rows, cols=cols)


# ---- the SVG ----------------------------------------------------------------------
GROUP = re.compile(r'<g id="([^"]*)" class="(node|edge|cluster)">(\s*<title>)(.*?)(</title>)', re.S)


def svg_of(picture, data):
    """The drawing as inline SVG: data attributes on every element, readable tooltips."""
    svg = picture.dot.pipe(format="svg", encoding="utf-8")
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    nodes = {n["id"]: n for n in data["nodes"]}
    drawn, edges, clusters = data["drawing"]["nodes"], data["drawing"]["edges"], data["drawing"]["clusters"]

    def annotate(m):
        element, cls, opening, _, closing = m.groups()
        attrs = ""
        if cls == "node" and element in drawn:
            info = drawn[element]
            attrs = f' data-node-id="{html.escape(element)}"'
            tip = _tooltip(nodes[info["nodes"][0]]) if len(info["nodes"]) == 1 else (
                f"{info['module']}: {len(info['nodes'])} nodes (click to list them)")
            if info["kind"] == MODULE:
                attrs += f' data-node-ids="{" ".join(info["nodes"])}" data-module="{html.escape(info["module"])}"'
        elif cls == "edge" and element in edges:
            attrs = f' data-edge="{element}"' + (' data-backward="1"' if edges[element]["backward"] else "")
            tip = "gradient sent back" if edges[element]["backward"] else "tensor passed forward"
        elif cls == "cluster" and element in clusters:
            attrs = f' data-cluster="{html.escape(clusters[element])}"'
            tip = f"{clusters[element]} (click to collapse or expand)"
        else:
            return m.group(0)
        return f'<g id="{element}" class="{cls}"{attrs}>{opening}{html.escape(tip)}{closing}'

    return GROUP.sub(annotate, svg)


def _tooltip(node):
    role = f" [{node['role']}]" if node["role"] else ""
    return f"{node['title']}{role} {tuple(node['shape'])}"


# ---- the page -----------------------------------------------------------------------
def _asset(name):
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def script():
    """The page's one script: the SCRIPTS in order, sharing one function's scope (nothing leaks but
    `window.explorer`)."""
    body = "\n".join(_asset(name) for name in SCRIPTS)
    return f'"use strict";\n(function () {{\n{body}}})();\n'


def embed_json(data):
    """JSON safe inside a <script> element: no '</' can close it early."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def page_html(data, svg):
    """The whole page: the template with its style, script, data and drawing inlined."""
    page = _asset("page.html")
    parts = {"TITLE": html.escape(data["title"]), "STYLE": _asset("explorer.css"), "SCRIPT": script(),
             "DATA": embed_json(data), "DATA_ID": DATA_ID, "SVG": svg}
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], page)
