"""One description of a recorded graph, built once and read by every view.

    from tinygrad_tf.viz.description import describe
    d = describe(loss)                    # nodes, edges, roles, module paths
    d = describe(loss, backward=True)     # ... and the backward pass, step by step
    d.to_dict()                           # the JSON the explorer page embeds

The Graphviz picture (`viz.graph`), the step table and frames (`tinygrad-tf
step`, `viz.frames`), the tour's diagrams and the explorer page all read this
description and only render it differently.

Kinds of node:
    input      a leaf that requires grad and has no `.name` (data you differentiate by)
    parameter  a leaf that requires grad and has a `.name` (nn Parameters get their
               dotted path, `encoder.layers.0.self_attn.q_proj.weight`)
    constant   a leaf that needs no gradient (masks, token ids, the positional table)
    op         one recorded op; it stands for the tensor it made too
    output     the tensor described (when an op made it)

A node's role is the part it plays in the model ("Q", "scores QKᵀ",
"mask (causal)"): the model names it where it calls the op
(`autograd.scope.mark`), or the op's class says it (`Function.role`).
The walk is the engine's own topological order (`autograd.topological_order`),
iterative, as a Transformer's graph is deep. This module is the bottom of
`viz`: it imports no view (not `trace`, `display`, `graph` or `layout`).
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from autograd import Tensor, topological_order
from autograd import backward_steps as engine_backward_steps

from .labels import op_title
from .records import backward_steps, role_of, summary
from .stepcheck import check_step

INPUT, PARAMETER, CONSTANT, OP, OUTPUT = "input", "parameter", "constant", "op", "output"
VALUE_LIMIT = 4096  # to_dict: tensors with more elements get a summary and no values
DECIMALS = 5  # to_dict: values are rounded to this many significant digits


@dataclass
class Node:
    """One node of the description.

    Attributes:
        id: "n0", "n1", ... in forward order (inputs before the ops using them).
        kind: input, parameter, constant, op or output.
        op: the op's name for an op node, else None.
        role: the part the node plays in the model, or None.
        module: the dotted module path it belongs to, or None.
        name: a leaf's name (a parameter's dotted path), else None.
        tensor: the tensor the node stands for (an op node: the one it made).
        ctx: an op node's recorded Context, else None.
    """

    id: str
    kind: str
    op: Optional[str]
    role: Optional[str]
    module: Optional[str]
    name: Optional[str]
    tensor: Tensor
    ctx: object = None

    @property
    def shape(self):
        return tuple(self.tensor.shape)

    @property
    def title(self):
        """What a view writes first: the role, else the op or the leaf's name, else its kind."""
        return self.role or self.op or self.name or self.kind


@dataclass
class Edge:
    """The tensor made by `source` going into input `input_index` of the op `target`."""

    source: str
    target: str
    input_index: int
    tensor: Tensor


class GraphDescription:
    """Everything reachable from `root` through the ops' inputs (see the module docstring).

    Attributes:
        root: the tensor described.
        nodes: every Node, each after the nodes feeding it.
        edges: every Edge, in the order of the ops and their inputs.
        tensors: every reachable Tensor, each after its inputs.
        ops: the Context of every recorded op, each after the ops feeding it.
        output_of: id(ctx) -> the tensor that op made.
        consumers: id(tensor) -> [(ctx, input index), ...] that use it.
        steps: the backward steps (`viz.records.BackwardStep`) once `run_backward` ran, else None.
    """

    def __init__(self, root):
        self.root = root
        self.tensors, self.ops = [], []
        self.output_of, self.consumers = {}, {}
        self.steps, self.checks = None, None
        self._walk(root)
        self.nodes, self.edges, self._by_key = [], [], {}
        for tensor in self.tensors:
            self._add_node(tensor)
        if root._ctx is not None:
            node = self._new_node(OUTPUT, None, None, None, None, root, None)
            self._by_key[("output",)] = node
            self.edges.append(Edge(self.node_of(root).id, node.id, 0, root))

    def _walk(self, root):
        """Every tensor reachable from `root`, each after its inputs: the engine's own topological order,
        with each constant (a leaf needing no gradient, which the engine never visits) placed just before
        the first op that reads it."""
        seen = set()
        for tensor in topological_order(root):
            ctx = tensor._ctx
            if ctx is not None:
                for i, inp in enumerate(ctx.inputs):
                    if not isinstance(inp, Tensor):
                        continue
                    self.consumers.setdefault(id(inp), []).append((ctx, i))
                    if id(inp) not in seen:  # a constant: the only inputs the engine's order leaves out
                        seen.add(id(inp))
                        self.tensors.append(inp)
                self.ops.append(ctx)
                self.output_of[id(ctx)] = tensor
            if id(tensor) not in seen:
                seen.add(id(tensor))
                self.tensors.append(tensor)

    def _new_node(self, kind, op, role, module, name, tensor, ctx):
        node = Node(f"n{len(self.nodes)}", kind, op, role, module, name, tensor, ctx)
        self.nodes.append(node)
        return node

    def _add_node(self, tensor):
        ctx = tensor._ctx
        if ctx is None:
            kind = self.kind(tensor)
            node = self._new_node(kind, None, None, self.module_of(tensor), tensor.name, tensor, None)
            self._by_key[id(tensor)] = node
            return
        node = self._new_node(OP, ctx.name, role_of(ctx), ctx.module, None, tensor, ctx)
        self._by_key[id(ctx)] = node
        for i, inp in enumerate(ctx.inputs):
            if isinstance(inp, Tensor):
                self.edges.append(Edge(self.node_of(inp).id, node.id, i, inp))

    # ---- lookups ----------------------------------------------------------------
    @property
    def leaves(self):
        return [t for t in self.tensors if t._ctx is None]

    @property
    def output_node(self):
        """The output node, or None when the root is a leaf."""
        return self._by_key.get(("output",))

    def node_of(self, obj):
        """The Node a Tensor comes out of (its op's, or its own for a leaf), or a Context's node."""
        if isinstance(obj, Tensor):
            key = id(obj._ctx) if obj._ctx is not None else id(obj)
        else:
            key = id(obj)
        try:
            return self._by_key[key]
        except KeyError:
            what = f"a tensor of shape {tuple(obj.shape)}" if isinstance(obj, Tensor) else repr(obj)
            raise ValueError(f"{what} is not in the graph described") from None

    def kind(self, tensor):
        """input, parameter or constant for a leaf; output for the root."""
        if tensor is self.root:
            return OUTPUT
        if not tensor.requires_grad:
            return CONSTANT
        return PARAMETER if tensor.name else INPUT

    def module_of(self, tensor):
        """The module path a leaf is drawn in (None: outside every module).

        A parameter belongs to the module in its dotted name; a constant to the
        innermost module enclosing every op that uses it; inputs and the output
        to no module.
        """
        kind = self.kind(tensor)
        if kind == PARAMETER:
            return tensor.name.rpartition(".")[0] or None
        if kind != CONSTANT:
            return None
        paths = [ctx.module for ctx, _ in self.consumers.get(id(tensor), ())]
        return common_prefix(paths)

    # ---- backward -----------------------------------------------------------------
    def run_backward(self, check=False, max_check_elements=200):
        """Walk backward from the root one step at a time, keeping every step.

        The root must be a single value (a loss). Afterwards every leaf holds the
        `.grad` that `root.backward()` gives, and `steps` holds the records in
        the order backward ran them. `check` also compares each op step with
        central differences of its op alone (`viz.trace.check_step`), kept in
        `checks` (None where there is nothing to check).
        """
        if not self.root.requires_grad:
            raise ValueError("backward: the tensor does not require grad, so there is no backward pass to walk")
        if self.root.size != 1:
            raise ValueError(f"backward: walk it from a single value (a loss), not a tensor of shape {self.root.shape}")
        self.steps = list(backward_steps(self.root, retain_graph=True))
        self.checks = [check_step(s, max_elements=max_check_elements) if check else None for s in self.steps]
        return self

    def node_title(self, node):
        """What a view calls a node: the op with its arguments ('div(2.828)'), else the leaf's name or kind."""
        if node.ctx is not None:
            return op_title(node.ctx)
        return node.name or node.kind

    def step_node(self, step):
        """The node a backward step is at: its op's node, or the leaf's own."""
        return self.node_of(step.ctx if step.ctx is not None else step.tensor)

    # ---- the explorer's JSON ----------------------------------------------------------
    def to_dict(self, value_limit=VALUE_LIMIT):
        """Plain data for JSON (see `docs` of the explorer): nodes, edges, steps, modules.

        Each node: id, op, title (the op with its arguments, 'div(2.828)'; a
        leaf's name or kind), role, module, kind, shape, dtype, name, rule (the
        op's backward in one line, `Function.rule`, or None), value and grad
        (nested lists rounded to DECIMALS significant digits, or None when the
        tensor has more than `value_limit` elements; infinities and NaN as the
        strings 'inf', '-inf', 'nan'), and summary / grad_summary (norm, min,
        max, mean; grad_summary and grad None until backward reached the node).
        Each edge: source, target, input_index. Each step: index, node, op,
        role, rule, grad_output summary, grad_inputs (summaries, None where an
        input got none), paths, check (relative error or None).
        """
        grads = self._node_grads()
        nodes = []
        for node in self.nodes:
            grad = grads.get(node.id)
            nodes.append(dict(
                id=node.id, op=node.op, title=self.node_title(node), role=node.role, module=node.module,
                kind=node.kind, shape=list(node.shape), dtype=str(node.tensor.dtype), name=node.name,
                rule=None if node.ctx is None else node.ctx.fn.rule,
                value=_values(node.tensor.numpy(), value_limit), summary=_summary(summary(node.tensor)),
                grad=None if grad is None else _values(grad, value_limit),
                grad_summary=None if grad is None else _summary(summary(grad)),
            ))
        steps = []
        for step, check in zip(self.steps or (), self.checks or ()):
            steps.append(dict(
                index=step.index, node=self.step_node(step).id, op=step.op, role=step.role, rule=step.rule,
                module=step.module,
                grad_output=_summary(step.grad_output_summary),
                grad_inputs=[None if s is None else _summary(s) for s in step.grad_input_summaries],
                paths=step.paths, check=check,
            ))
        edges = [dict(source=e.source, target=e.target, input_index=e.input_index) for e in self.edges]
        modules = sorted({n.module for n in self.nodes if n.module})
        return dict(nodes=nodes, edges=edges, steps=steps, modules=modules, value_limit=value_limit)

    def _node_grads(self):
        """{node id: NumPy gradient of the tensor it stands for}, from the steps taken."""
        grads = {}
        for step in self.steps or ():
            grads[self.step_node(step).id] = step.grad_output.numpy()
            if step.tensor is self.root and self.output_node is not None:
                grads[self.output_node.id] = grads[self.step_node(step).id]
        for node in self.nodes:
            if node.kind in (INPUT, PARAMETER) and node.tensor.grad is not None:
                grads[node.id] = node.tensor.grad.numpy()
        return grads


def describe(root, backward=False, check=False):
    """The `GraphDescription` of `root`'s graph; `backward` also walks the backward pass (see run_backward)."""
    description = GraphDescription(root)
    return description.run_backward(check=check) if backward else description


def _values(array, limit):
    array = np.asarray(array)
    if array.size > limit:
        return None
    if array.dtype.kind == "b":
        return array.tolist()
    if array.dtype.kind in "iu":
        return array.astype(np.int64).tolist()
    rounded = np.array([float(f"{v:.{DECIMALS}g}") for v in array.astype(np.float64).ravel()]).reshape(array.shape)
    return _finite(rounded.tolist())


def _finite(values):
    """JSON has no Infinity or NaN: they become the strings 'inf', '-inf', 'nan'."""
    if isinstance(values, list):
        return [_finite(v) for v in values]
    if isinstance(values, dict):
        return {k: _finite(v) for k, v in values.items()}
    if isinstance(values, float) and not np.isfinite(values):
        return "nan" if np.isnan(values) else ("inf" if values > 0 else "-inf")
    return values


def _summary(s):
    return None if s is None else _finite(dict(norm=s.norm, min=s.min, max=s.max, mean=s.mean))


# ---- gradients sent along the edges -----------------------------------------------
def sent_gradients(root, steps):
    """What backward steps sent: ({(id(ctx), input index): NumPy gradient}, `root`'s gradient).

    `steps` are records of `engine.backward_steps` or `trace.backward_steps`
    (anything with tensor, ctx, grad_output and grad_inputs); `root`'s gradient
    is None when no step reached it.
    """
    sent, seed = {}, None
    for step in steps:
        if step.tensor is root:
            seed = step.grad_output.numpy()
        if step.ctx is None:
            continue
        for i, g in enumerate(step.grad_inputs):
            if g is not None:
                sent[(id(step.ctx), i)] = g.numpy()
    return sent, seed


def backward_gradients(walk):
    """Run backward step by step and record the gradient sent along every edge.

    Returns what `sent_gradients` does for the whole pass. A tensor with more
    than one element is seeded with ones (the gradient of its sum). Every
    `.grad` the run touches is put back as it was, so drawing has no side
    effect on the tensors (hooks registered on them do run).
    """
    root = walk.root
    if not root.requires_grad:
        raise ValueError("show_backward: the tensor does not require grad, so there is no backward pass to draw")
    seed = Tensor(np.ones(root.shape), dtype=root.dtype, device=root.device)
    before = [(t, t.grad) for t in walk.tensors]
    try:
        return sent_gradients(root, engine_backward_steps(root, seed, retain_graph=True))
    finally:
        for tensor, grad in before:
            tensor.grad = grad


# ---- module paths ---------------------------------------------------------------
def common_prefix(paths):
    """The longest dotted path that every path starts with (None when they share none)."""
    if not paths or any(p is None for p in paths):
        return None
    parts = [p.split(".") for p in paths]
    shared = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        shared.append(level[0])
    return ".".join(shared) or None


def truncate(path, depth):
    """The first `depth` components of a dotted path (None for depth 0 or no path)."""
    if path is None or depth <= 0:
        return None
    return ".".join(path.split(".")[:depth])


def depth(path):
    return 0 if path is None else len(path.split("."))
