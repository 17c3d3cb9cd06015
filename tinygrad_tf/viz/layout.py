"""Where each part of a recorded graph is drawn: which node stands for each op and leaf,
which module cluster holds it, and the edges between drawn nodes.

`viz.graph` lays a `GraphDescription` out with this before Graphviz draws it;
with `collapse`, a whole module becomes one box.
"""
from autograd import Context, Tensor

from .description import OUTPUT, PARAMETER, depth, truncate
from .labels import broadcast_note, label, shape_text

MODULE = "module"


class Layout:
    """Which drawn node stands for each op and leaf, and which cluster each drawn node sits in.

    Without `collapse` every op and leaf is its own node. With `collapse=N`, the
    ops of a module deeper than N path components belong to one box per module
    at depth N + 1, as do the parameters used only inside that box.
    """

    def __init__(self, walk, collapse):
        self.walk, self.collapse = walk, collapse
        self.ids, self.nodes = {}, {}  # id(obj) -> node name; node name -> info dict
        self.boxes = {}  # box module path -> node name
        for ctx in walk.ops:
            self._place_op(ctx)
        for tensor in walk.leaves:
            self._place_leaf(tensor)
        if walk.root._ctx is not None:
            self._add(id(walk.root), "output", kind=OUTPUT, tensor=walk.root, cluster=None)

    def _add(self, key, name, **info):
        self.ids[key] = name
        self.nodes.setdefault(name, info)

    def _box_path(self, module):
        if self.collapse is None or depth(module) <= self.collapse:
            return None
        return truncate(module, self.collapse + 1)

    def _visible_path(self, module):
        return module if self.collapse is None else truncate(module, min(depth(module), self.collapse))

    def _place_op(self, ctx):
        box = self._box_path(ctx.module)
        if box is None:
            self._add(id(ctx), f"op{len(self.nodes)}", kind="op", ctx=ctx, cluster=ctx.module)
            return
        if box not in self.boxes:
            self.boxes[box] = f"module{len(self.nodes)}"
            self.nodes[self.boxes[box]] = dict(kind=MODULE, path=box, ops=[], params=[],
                                               cluster=truncate(box, self.collapse))
        self.nodes[self.boxes[box]]["ops"].append(ctx)
        self.ids[id(ctx)] = self.boxes[box]

    def _place_leaf(self, tensor):
        kind, module = self.walk.kind(tensor), self.walk.module_of(tensor)
        if kind == PARAMETER:
            users = {self.ids[id(ctx)] for ctx, _ in self.walk.consumers.get(id(tensor), ())}
            box = self.boxes.get(self._box_path(module))
            if box is not None and users == {box}:  # used only inside its collapsed module
                self.nodes[box]["params"].append(tensor)
                self.ids[id(tensor)] = box
                return
        self._add(id(tensor), f"tensor{len(self.nodes)}", kind=kind, tensor=tensor,
                  cluster=self._visible_path(module))

    def node_of(self, tensor):
        """The drawn node a tensor comes out of (its op's node, or its own)."""
        return self.ids[id(tensor._ctx) if tensor._ctx is not None else id(tensor)]

    def marks(self, highlight, visited):
        """{drawn node: "visited" or "highlight"} for the Tensors and Contexts (ops) given."""
        marks = {}
        for mark, objs in (("visited", visited), ("highlight", highlight)):
            if objs is None or isinstance(objs, (Tensor, Context)):
                objs = () if objs is None else (objs,)
            for obj in objs:
                try:
                    marks[self.node_of(obj) if isinstance(obj, Tensor) else self.ids[id(obj)]] = mark
                except KeyError:
                    what = f"a tensor of shape {shape_text(obj.shape)}" if isinstance(obj, Tensor) else repr(obj)
                    raise ValueError(f"highlight/visited: {what} is not in the graph drawn") from None
        return marks

    def edges(self):
        """Forward edges: dicts with src, dst, tensor, slots [(id(ctx), index)], note, grad."""
        edges, merged = [], {}
        for ctx in self.walk.ops:
            dst, out = self.ids[id(ctx)], self.walk.output_of[id(ctx)]
            for i, inp in enumerate(ctx.inputs):
                if not isinstance(inp, Tensor):
                    continue
                src = self.node_of(inp)
                if src == dst:
                    continue  # inside one collapsed module
                boxed = MODULE in (self.nodes[src]["kind"], self.nodes[dst]["kind"])
                key = (src, dst, id(inp)) if boxed else (id(ctx), i)
                if key in merged:
                    merged[key]["slots"].append((id(ctx), i))
                    merged[key]["targets"].append((self.walk.node_of(ctx).id, i))
                    continue
                note = shape_text(inp.shape) if boxed else broadcast_note(ctx, inp, out)
                merged[key] = dict(src=src, dst=dst, tensor=inp, slots=[(id(ctx), i)], note=note, targets=[],
                                   broadcast=not boxed and note is not None, grad=inp.requires_grad,
                                   position=None if boxed else _position(ctx, i))
                merged[key]["targets"].append((self.walk.node_of(ctx).id, i))
                edges.append(merged[key])
        root = self.walk.root
        if root._ctx is not None:
            src = self.node_of(root)
            note = shape_text(root.shape) if self.nodes[src]["kind"] == MODULE else None
            edges.append(dict(src=src, dst="output", tensor=root, slots=[], note=note, broadcast=False,
                              grad=True, position=None, targets=[(self.walk.output_node.id, 0)]))
        return edges

    def description_ids(self, name):
        """The ids of the description's nodes that drawn node `name` stands for (a box: all of its)."""
        info = self.nodes[name]
        if info["kind"] == MODULE:
            return [self.walk.node_of(obj).id for obj in info["ops"] + info["params"]]
        if info["kind"] == "op":
            return [self.walk.node_of(info["ctx"]).id]
        if name == "output":
            return [self.walk.output_node.id]
        return [self.walk.node_of(info["tensor"]).id]

    def element_id(self, name):
        """The `id` of drawn node `name` in the picture: its description node's id, "box:<path>" for a box."""
        info = self.nodes[name]
        return f"box:{info['path']}" if info["kind"] == MODULE else self.description_ids(name)[0]

    def box_label(self, info, edges, name):
        ins = _distinct(e["tensor"] for e in edges if e["dst"] == name)
        outs = _distinct(e["tensor"] for e in edges if e["src"] == name)
        counts = _count(len(info["ops"]), "op")
        if info["params"]:
            counts += f", {_count(len(info['params']), 'parameter')} ({_count(sum(p.size for p in info['params']), 'value')})"
        return label([info["path"],
                      "in " + ", ".join(shape_text(t.shape) for t in ins),
                      "out " + ", ".join(shape_text(t.shape) for t in outs),
                      counts])


def _position(ctx, i):
    """'1', '2', ...: which tensor argument input i is, for ops where the order matters.

    An op whose inputs may be swapped says so (`Function.commutative`); the
    others, like matmul(q, kᵀ), number their input edges.
    """
    tensors = [j for j, a in enumerate(ctx.inputs) if isinstance(a, Tensor)]
    if getattr(ctx.fn, "commutative", False) or len(tensors) < 2:
        return None
    return str(tensors.index(i) + 1)


def _count(n, noun):
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _distinct(tensors):
    seen, out = set(), []
    for t in tensors:
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out
