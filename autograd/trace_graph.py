"""Pictures of the backward pass in progress: one Graphviz graph per step.

A small builder of its own, used by `tinygrad-tf step --frames` (the full
graph pictures with legends and collapsing are `autograd.graph`'s job). The
graph holds the tensors backward visits (op nodes and the leaves that require
grad), in clusters by the module path recorded at forward. Each frame colours
the nodes already visited, highlights the current one, and labels the edges
along which a gradient has been sent with its norm; the layout is the same in
every frame, so the frames play as an animation.

    frames = BackwardFrames(loss)          # before backward: it reads the graph
    for step in trace.backward_steps(loss):
        frames.visit(step)
        frames.write_png(f"step-{step.index:03d}.png")
"""
import shutil

from .engine import topological_order

DOT_MISSING = (
    "Graphviz's 'dot' program was not found; install Graphviz "
    "(Debian/Ubuntu: apt-get install graphviz, macOS: brew install graphviz, conda: conda install graphviz)"
)

_PENDING = {"style": "filled", "fillcolor": "white", "color": "gray60", "fontcolor": "gray40"}
_VISITED = {"style": "filled", "fillcolor": "lightblue", "color": "steelblue4", "fontcolor": "black"}
_CURRENT = {"style": "filled,bold", "fillcolor": "orange", "color": "red3", "fontcolor": "black", "penwidth": "2.5"}


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise RuntimeError("step pictures need the graphviz Python package: pip install graphviz") from None
    return graphviz


def dot_available():
    """Whether the Graphviz `dot` program is on PATH."""
    return shutil.which("dot") is not None


def _shape(t):
    return "(" + ", ".join(str(n) for n in t.shape) + (",)" if len(t.shape) == 1 else ")")


class BackwardFrames:
    """The graph of `root` as backward walks it (see the module docstring)."""

    def __init__(self, root, title=None):
        self.title = title
        self.order = list(reversed(topological_order(root)))  # output first, as backward goes
        self.ids = {id(t): f"n{i}" for i, t in enumerate(self.order)}
        self.visited = set()
        self.current = None
        self.sent = {}  # (input node, consumer node, slot) -> norm of the gradient sent
        self.step = None

    def visit(self, step):
        """Record a `trace.BackwardStep` (its node becomes the current one)."""
        node = self.ids.get(id(step.tensor))
        if self.current is not None:
            self.visited.add(self.current)
        self.current, self.step = node, step
        if step.ctx is not None:
            for slot, (inp, s) in enumerate(zip(step.ctx.inputs, step.grad_input_summaries)):
                if s is not None and id(inp) in self.ids:
                    self.sent[(self.ids[id(inp)], node, slot)] = s.norm

    def _label(self, t):
        ctx = t._ctx
        if ctx is None:
            return f"{t.name or 'leaf'}\n{_shape(t)}"
        return f"{ctx.name}\n{_shape(t)}"

    def _module(self, t):
        if t._ctx is not None:
            return t._ctx.module
        return t.name.rsplit(".", 1)[0] if t.name and "." in t.name else None

    def to_dot(self):
        """The current frame as a `graphviz.Digraph` (output at the top, leaves below)."""
        g = _graphviz().Digraph("backward", graph_attr={"rankdir": "BT", "fontname": "Helvetica", "labelloc": "t",
                                                      "fontsize": "16", "bgcolor": "white"},
                             node_attr={"fontname": "Helvetica", "fontsize": "11"},
                             edge_attr={"fontname": "Helvetica", "fontsize": "9"})
        if self.step is not None:
            s = self.step
            where = f" in {s.module}" if s.module else ""
            head = self.title + "\n" if self.title else ""
            g.attr(label=f"{head}step {s.index}: {s.label}{where}   |grad| {s.grad_output_summary.norm:.3g}")
        elif self.title:
            g.attr(label=self.title)

        tree = {}  # module path -> node lines, for nested clusters
        for t in self.order:
            node = self.ids[id(t)]
            style = _CURRENT if node == self.current else _VISITED if node in self.visited else _PENDING
            shape = "box" if t._ctx is None else "ellipse"
            tree.setdefault(self._module(t), []).append((node, self._label(t), dict(style, shape=shape)))

        def add_cluster(graph, path):
            for node, label, attrs in tree.get(path, ()):
                graph.node(node, label, **attrs)
            prefix = "" if path is None else path + "."
            children = sorted({p[len(prefix):].split(".")[0] for p in tree if p is not None and p != path
                               and p.startswith(prefix)})
            for child in children:
                full = prefix + child
                with graph.subgraph(name="cluster_" + full.replace(".", "__")) as sub:
                    sub.attr(label=full, style="rounded,dashed", color="gray50", fontsize="11")
                    add_cluster(sub, full)

        add_cluster(g, None)
        for t in self.order:
            if t._ctx is None:
                continue
            consumer = self.ids[id(t)]
            for slot, inp in enumerate(t._ctx.inputs):
                source = self.ids.get(id(inp))
                if source is None:
                    continue
                norm = self.sent.get((source, consumer, slot))
                if norm is None:
                    g.edge(source, consumer, color="gray70")
                else:
                    g.edge(source, consumer, color="red3", fontcolor="red3", label=f"{norm:.2g}", dir="back",
                           penwidth="1.6")
        return g

    def write_png(self, path):
        """Render the current frame to a PNG file at `path` (needs Graphviz's `dot`)."""
        graphviz = _graphviz()
        try:
            data = self.to_dot().pipe(format="png")
        except graphviz.ExecutableNotFound:
            raise RuntimeError(DOT_MISSING) from None
        with open(path, "wb") as f:
            f.write(data)
        return path


def assemble_gif(paths, out, duration_ms=700):
    """Join PNG frames into an animated GIF (needs Pillow); frames of other sizes are padded."""
    try:
        from PIL import Image
    except ImportError:
        raise RuntimeError("--gif needs Pillow: pip install Pillow (or the extra: pip install -e .[plot])") from None
    if not paths:
        raise RuntimeError("no frames to assemble into a GIF")
    _FAST_OCTREE = getattr(getattr(Image, "Quantize", Image), "FASTOCTREE", 2)
    images = [Image.open(p).convert("RGB") for p in paths]
    width, height = max(i.width for i in images), max(i.height for i in images)
    frames = []
    for image in images:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(image, (0, 0))
        # a fast palette of its own per frame (Pillow's default quantizer is slow on big frames)
        frames.append(canvas.quantize(colors=64, method=_FAST_OCTREE, dither=0))
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return out
