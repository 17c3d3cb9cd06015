"""Pictures of a recorded graph, drawn with Graphviz.

    from tinygrad_tf.viz import graph
    dot = graph.to_dot(loss)                              # a graphviz.Digraph
    graph.render(loss, "attention.svg")                   # or .png, .pdf
    graph.render(logits, "model.png", collapse=2)         # modules below depth 2 as boxes
    graph.render(loss, "flow.svg", show_backward=True)    # gradients on reversed edges
    graph.to_dot(loss, show_backward=steps_so_far,        # a backward pass in progress:
                 highlight=[current], visited=done)       # what was sent, where it is, where it was

What is drawn (a legend in the picture says the same):
    op (grey ellipse)          one per recorded op, labelled with its name, its non-tensor
                               arguments ('div(2.828)', 'masked_fill(-inf)') and the
                               shape and dtype of the tensor it made
    input (blue parallelogram) a leaf that requires grad and has no name
    parameter (orange box)     a named leaf that requires grad: its dotted name
    constant (yellow note)     a leaf without gradient: masks, token ids, tables
    output (green octagon)     the tensor drawn
    module (purple 3-d box)    with `collapse`: a whole module as one node
Tensor nodes show shape and dtype, the values when the tensor is tiny
(`show_values`) and the norm of `.grad` when it is set. Edges carrying no
gradient are dashed; an input broadcast by its op (its gradient is summed back
to its shape in backward) has a blue edge labelled 'broadcast (d,) -> (b, t, d)'.

`highlight` (orange, bold outline) and `visited` (light blue) mark the nodes of
given tensors or ops over their kind's colours; `tinygrad_tf.viz.frames` draws
each step of backward that way.

Nodes are grouped in nested clusters by the module path their op recorded at
forward (`encoder` > `encoder.layers.0` > `encoder.layers.0.self_attn`), each
labelled with its path; parameters sit in their module's cluster, constants in
the innermost module using them. The graph walk is iterative (a Transformer's
graph is deep). Graphviz is imported only here, when a picture is made.
"""
import os
import shutil
from dataclasses import dataclass

import numpy as np

from .description import CONSTANT, INPUT, OUTPUT, PARAMETER, GraphDescription, backward_gradients, depth, sent_gradients, truncate
from .labels import grad_text, label, leaf_label, norm, op_label, shape_text, value_limit
from .layout import MODULE, Layout

FORMATS = ("svg", "png", "pdf")
DOT_MISSING = (
    "Graphviz's `dot` program was not found; install Graphviz: apt-get install graphviz (Debian/Ubuntu), "
    "brew install graphviz (macOS), conda install graphviz (conda), or see https://graphviz.org/download/"
)

STYLES = {
    "op": dict(shape="ellipse", style="filled", fillcolor="#e8e8e8"),
    INPUT: dict(shape="parallelogram", style="filled", fillcolor="#cfe2ff"),
    PARAMETER: dict(shape="box", style="filled", fillcolor="#ffe0b2"),
    CONSTANT: dict(shape="note", style="filled", fillcolor="#fff9c4"),
    OUTPUT: dict(shape="doubleoctagon", style="filled", fillcolor="#c8e6c9"),
    MODULE: dict(shape="box3d", style="filled", fillcolor="#e1d5f5"),
}
# Drawn over a node's kind style by to_dot's `visited` and, on top, `highlight`.
MARKS = {
    "visited": dict(style="filled", fillcolor="lightblue", color="steelblue4"),
    "highlight": dict(style="filled,bold", fillcolor="orange", color="red3", penwidth="2.5"),
}
LEGEND_TEXT = {
    "op": "op", INPUT: "input (requires grad)", PARAMETER: "parameter", CONSTANT: "constant (no grad)",
    OUTPUT: "output", MODULE: "module (collapsed)",
    "visited": "light blue node: visited", "highlight": "orange node: highlighted",
}
BROADCAST_COLOR, BACKWARD_COLOR = "#1f5fbf", "#c62828"
CLUSTER_FILLS = ("#f7f9fc", "#eef3fa", "#e6edf7", "#dfe8f4")


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise ImportError("graph pictures need the graphviz Python package: pip install graphviz") from None
    return graphviz


def dot_available():
    """Whether Graphviz's `dot` program is on PATH (pictures other than .dot need it)."""
    return shutil.which("dot") is not None


def to_dot(tensor, collapse=None, show_backward=False, show_values=None, legend=True, title=None,
           highlight=None, visited=None):
    """The graph that made `tensor`, as a `graphviz.Digraph` (call `.render` or `.source` on it).

    Args:
        tensor: the output to draw back from; every Tensor reached through the
            ops' inputs is drawn, constants included. A `GraphDescription`
            (`viz.describe`) draws the graph it describes.
        collapse: None draws every op. An int N draws each module deeper than N
            path components as one box (labelled with its path, the shapes going
            in and out, and how many ops and parameters it holds): collapse=2 on
            a Transformer shows `encoder.layers.0`, `encoder.layers.1`, ... as boxes.
        show_backward: True runs backward (retain_graph=True) and draws the
            gradient sent along each edge as a red reversed edge labelled with its
            shape and norm. A tensor with more than one element is seeded with
            ones (the gradient of its sum). Every `.grad` is restored afterwards.
            Backward steps already taken (records of `viz.trace.backward_steps` or
            `engine.backward_steps`, from the output on) draw only what those
            steps sent: a backward pass in progress.
        show_values: None shows the values of tensors with at most 16 elements;
            True of every tensor (summarised by NumPy); False of none; an int n
            of tensors with at most n elements.
        legend: draw the legend of node kinds.
        title: a caption for the picture (one line per line of the text).
        highlight, visited: a Tensor or Context (op), or an iterable of them,
            whose nodes are drawn highlighted (orange, bold outline) or visited
            (light blue). A tensor stands for the node it comes out of: its op's,
            or its own for a leaf. Anything not in the graph is a ValueError.
    """
    return drawing(tensor, collapse, show_backward, show_values, legend, title, highlight, visited, ids=False).dot


@dataclass
class Drawing:
    """`to_dot`'s picture and what each of its elements stands for in the graph's description.

    Attributes:
        dot: the `graphviz.Digraph`.
        nodes: {element id: dict(nodes=[description node ids], kind, cluster, module)}
            for every drawn node. The id is the description node's own ("n12")
            for an op or a tensor, "box:<path>" for a collapsed module, which
            stands for all its ops and the parameters used only inside it
            (`module` is then its path).
        edges: {element id: dict(source, target, uses=[[description node id,
            input index], ...], backward)}: source and target are element ids;
            a forward edge ("e3") carries a tensor into the uses listed (several
            where a box reads one tensor in several ops); a backward edge ("g3")
            is the gradient those uses sent back (drawn only with `show_backward`).
        clusters: {element id: module path}, element id "cluster:<path>".
    """

    dot: object
    nodes: dict
    edges: dict
    clusters: dict


def drawing(tensor, collapse=None, show_backward=False, show_values=None, legend=True, title=None,
            highlight=None, visited=None, ids=True):
    """`to_dot`'s picture (same arguments) with the map from its elements to the description: a `Drawing`.

    `ids` gives every drawn node, edge and cluster its element id (`Drawing`)
    as the Graphviz `id` attribute, which SVG output writes on the element's
    group. (`to_dot` leaves them out: they can swap tied nodes in the layout.)
    """
    ident = (lambda name: dict(id=name)) if ids else (lambda name: {})
    graphviz = _graphviz()
    if collapse is not None and (isinstance(collapse, bool) or not isinstance(collapse, int) or collapse < 0):
        raise ValueError(f"collapse must be None or a module depth >= 0, got {collapse!r}")
    value_limit(show_values)  # check it early
    walk = tensor if isinstance(tensor, GraphDescription) else GraphDescription(tensor)
    in_progress = not (show_backward is None or isinstance(show_backward, bool))  # steps were given
    if in_progress:
        sent, seed = sent_gradients(walk.root, show_backward)
    else:
        sent, seed = backward_gradients(walk) if show_backward else ({}, None)
    layout = Layout(walk, collapse)
    edges = layout.edges()
    marks = layout.marks(highlight, visited)

    nodes, edge_ids, clusters = {}, {}, {}

    def draw_node(graph, name):
        info = layout.nodes[name]
        style = {**STYLES[info["kind"]], **MARKS.get(marks.get(name), {})}
        element = layout.element_id(name)
        nodes[element] = dict(nodes=layout.description_ids(name), kind=info["kind"], cluster=info["cluster"],
                              module=info.get("path"))
        graph.node(name, _node_text(name, info, layout, edges, show_values), **ident(element), **style)

    dot = graphviz.Digraph("graph", graph_attr=dict(rankdir="TB", ordering="in", fontname="Helvetica", fontsize="11",
                                                      nodesep="0.25", ranksep="0.35"),
                           node_attr=dict(fontname="Helvetica", fontsize="10", margin="0.08,0.04"),
                           edge_attr=dict(fontname="Helvetica", fontsize="9", arrowsize="0.7"))
    if title:
        dot.attr(label=label(str(title).splitlines()), labelloc="t")
    by_cluster = {}
    for name, info in layout.nodes.items():
        by_cluster.setdefault(info["cluster"], []).append(name)
    for name in by_cluster.get(None, ()):
        draw_node(dot, name)
    _draw_clusters(dot, by_cluster, draw_node, clusters, ident)
    for k, e in enumerate(edges):
        e["id"] = f"e{k}"
        edge_ids[e["id"]] = dict(source=layout.element_id(e["src"]), target=layout.element_id(e["dst"]),
                                 uses=[list(t) for t in e["targets"]], backward=False)
        attrs = ident(e["id"])
        if e["note"]:
            attrs["label"] = e["note"]
        if e["position"]:
            attrs.update(headlabel=e["position"], labelfontsize="11", labelfontcolor="#7b1fa2", labeldistance="1.6")
        if e["broadcast"]:
            attrs.update(color=BROADCAST_COLOR, fontcolor=BROADCAST_COLOR, penwidth="1.6")
        if not e["grad"]:
            attrs.update(style="dashed", color="#888888")
        dot.edge(e["src"], e["dst"], **attrs)
    if show_backward or in_progress:
        for e in _draw_backward(dot, edges, sent, seed, in_progress, ident):
            edge_ids["g" + e["id"][1:]] = dict(edge_ids[e["id"]], source=edge_ids[e["id"]]["target"],
                                               target=edge_ids[e["id"]]["source"], backward=True)
    if legend:
        notes = ["red reversed edge: gradient sent back"] if show_backward or in_progress else []
        notes += [LEGEND_TEXT[mark] for mark in MARKS] if marks else []
        _draw_legend(dot, {info["kind"] for info in layout.nodes.values()}, notes)
    return Drawing(dot, nodes, edge_ids, clusters)




def _node_text(name, info, layout, edges, show_values):
    kind = info["kind"]
    if kind == "op":
        ctx = info["ctx"]
        return op_label(ctx, layout.walk.output_of[id(ctx)], show_values, layout.walk.node_of(ctx).role)
    if kind == MODULE:
        return layout.box_label(info, edges, name)
    return leaf_label(info["tensor"], kind, show_values)


def _draw_clusters(dot, by_cluster, draw_node, ids, ident):
    """Nested `cluster_` subgraphs, one per module path that holds a node (and their parents).

    Each gets the SVG id "cluster:<path>", kept in `ids` ({id: path}).
    """
    children, paths = {}, {}  # paths: a dict as an ordered set, in order of first use
    for path in (p for p in by_cluster if p is not None):
        for d in range(1, depth(path) + 1):
            paths.setdefault(truncate(path, d))
    for path in paths:
        parent = path.rpartition(".")[0] or None
        children.setdefault(parent, []).append(path)
    names = {}

    def cluster_name(path):  # unique and readable: cluster_encoder_layers_0_self_attn
        base = "cluster_" + "".join(c if c.isalnum() else "_" for c in path)
        name, n = base, 1
        while name in names.values():
            n += 1
            name = f"{base}_{n}"
        names[path] = name
        return name

    def emit(parent_graph, path):  # recursion is bounded by the module nesting depth
        with parent_graph.subgraph(name=cluster_name(path)) as sub:
            ids[f"cluster:{path}"] = path
            sub.attr(label=path, labeljust="l", style="rounded,filled", color="#9aa7b8", **ident(f"cluster:{path}"),
                     fillcolor=CLUSTER_FILLS[(depth(path) - 1) % len(CLUSTER_FILLS)])
            for name in by_cluster.get(path, ()):
                draw_node(sub, name)
            for child in children.get(path, ()):
                emit(sub, child)

    for top in children.get(None, ()):
        emit(dot, top)


def _draw_backward(dot, edges, sent, seed, in_progress, ident):
    """Reversed red edges: the gradient each consumer sent back to each input.

    A backward pass `in_progress` keeps one layout from step to step: every
    edge is laid out from the first frame, those still to come invisible, and
    each carries a label of the same width in every frame (a norm written
    `6.51e-01`), which Graphviz places beside its edge, not on top of it.
    Each drawn edge's id is its forward edge's with "g" for "e"; the forward
    edges drawn so are returned.
    """
    drawn = []
    for e in edges:
        if e["dst"] == "output":
            grad = seed
        else:
            parts = [sent[s] for s in e["slots"] if s in sent]
            grad = np.sum(parts, axis=0) if parts else None
        if grad is None:
            if in_progress and e["grad"]:
                dot.edge(e["dst"], e["src"], label=f"{0.0:.2e}", style="invis", constraint="false",
                         **ident("g" + e["id"][1:]))
            continue
        if in_progress:
            text = dict(label=f"{norm(grad):.2e}")
        else:
            text = dict(label=label([f"grad {shape_text(np.shape(grad))}", grad_text(grad)]))
        dot.edge(e["dst"], e["src"], **text, color=BACKWARD_COLOR, fontcolor=BACKWARD_COLOR, style="dashed",
                 constraint="false", **ident("g" + e["id"][1:]))
        drawn.append(e)
    return drawn


def _draw_legend(dot, kinds, notes):
    with dot.subgraph(name="cluster_legend") as sub:
        sub.attr(label="legend", labeljust="l", style="rounded", color="#bbbbbb")
        names = []
        for kind in ("op", INPUT, PARAMETER, CONSTANT, OUTPUT, MODULE):
            if kind in kinds:
                names.append(f"legend_{kind}")
                sub.node(names[-1], LEGEND_TEXT[kind], **STYLES[kind])
        lines = ["blue edge: broadcast, summed back in backward", "dashed edge: no gradient", *notes]
        names.append("legend_edges")
        sub.node(names[-1], label(lines), shape="plaintext", fontcolor="#444444")
        for a, b in zip(names, names[1:]):
            sub.edge(a, b, style="invis")


def render(tensor, path, format=None, **kwargs):
    """Draw `tensor`'s graph to `path` and return the path of the picture.

    Args:
        path: the picture's file; its extension picks the format when `format`
            is None (a path without one gets '.svg' or '.<format>').
        format: "svg", "png" or "pdf" ("dot" writes only the Graphviz source).
        **kwargs: passed to `to_dot` (collapse, show_backward, show_values, legend, title,
            highlight, visited).

    The Graphviz source is written next to the picture (`out.svg` -> `out.dot`).
    Without Graphviz's `dot` program that source is still written, and a
    RuntimeError says how to install Graphviz.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1][1:].lower()
    if format is None:
        format = ext if ext in FORMATS + ("dot",) else "svg"
    format = format.lower()
    if format not in FORMATS + ("dot",):
        raise ValueError(f"render: format must be one of {', '.join(FORMATS)} (or dot), got {format!r}")
    if not ext:
        path = f"{path}.{format}"
    elif ext != format and ext in FORMATS + ("dot",):
        raise ValueError(f"render: {path} ends in .{ext} but format is {format!r}")
    return write(to_dot(tensor, **kwargs), path, format)


def write(dot, path, format, source=True):
    """Draw `dot` (made by `to_dot`) to `path` in `format` and return `path`.

    Args:
        format: "svg", "png", "pdf", or "dot" for only the Graphviz source.
        source: also write the Graphviz source next to the picture (`out.svg`
            -> `out.dot`), first, so that it is there even when drawing fails.

    Without Graphviz's `dot` program a RuntimeError says how to install it.
    """
    path = os.fspath(path)
    if format not in FORMATS + ("dot",):
        raise ValueError(f"write: format must be one of {', '.join(FORMATS)} (or dot), got {format!r}")
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    source_path = None
    if source or format == "dot":
        source_path = path if format == "dot" else os.path.splitext(path)[0] + ".dot"
        with open(source_path, "w", encoding="utf-8") as f:
            f.write(dot.source)
    if format == "dot":
        return path
    graphviz = _graphviz()
    try:
        picture = dot.pipe(format=format)
    except graphviz.ExecutableNotFound:
        kept = f" (its source is in {source_path})" if source_path else ""
        raise RuntimeError(f"{path} was not drawn{kept}: {DOT_MISSING}") from None
    except graphviz.CalledProcessError as e:
        detail = (e.stderr or b"").decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"Graphviz's dot failed on {source_path or path}: {detail[-1] if detail else e}") from None
    with open(path, "wb") as f:
        f.write(picture)
    return path
