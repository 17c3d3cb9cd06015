"""Compact HTML views for Jupyter: a Tensor, a backward step record and a Module.

`Module._repr_html_` delegates here, and `register_notebook_views` (called
when `tinygrad_tf` is imported inside IPython) tells Jupyter to draw a `Tensor`
with `tensor_html` and a backward step record with `step_html`: neither the
engine nor the records know anything of notebooks. So a notebook cell that ends with one of them shows
its shape, dtype, the op that made it and a small table of values (or a summary
when the tensor is large). Everything is escaped; nothing is loaded from the network.
"""
import html
import os
import sys
import tempfile

import numpy as np

from autograd import Tensor

from . import graph
from .records import BackwardStep

MAX_ROWS, MAX_COLS = 8, 10  # a value table shows at most this corner of the last two axes

_STYLE = ("font-family:monospace;font-size:12px;border-collapse:collapse;margin:2px 0",
          "border:1px solid #ccc;padding:1px 6px;text-align:right")


def _e(value):
    return html.escape(str(value))


def _table(rows, header=None):
    table, cell = _STYLE
    head = "" if header is None else "<tr>" + "".join(f"<th style=\"{cell}\">{_e(h)}</th>" for h in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td style=\"{cell}\">{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table style=\"{table}\">{head}{body}</table>"


def _number(value):
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.4g}"


def _summary(array):
    if array.size == 0:
        return "empty"
    if array.dtype.kind == "b":
        return f"{int(array.sum())} True of {array.size}"
    a = array.astype(np.float64)
    return (f"min {_number(a.min())}, max {_number(a.max())}, mean {_number(a.mean())}, "
            f"norm {_number(np.linalg.norm(a.ravel()))}")


def values_html(array):
    """A table of a small array's values (the first rows/columns of its last two axes), and a summary line."""
    array = np.asarray(array)
    if array.ndim == 0:
        return f"<div>value: <b>{_e(_number(array.item()))}</b></div>"
    corner = array.reshape((1,) * (2 - array.ndim) + array.shape) if array.ndim < 2 else array
    lead = corner.shape[:-2]
    corner = corner[(0,) * len(lead)] if lead else corner
    rows = [[_number(v) for v in row[:MAX_COLS]] + (["…"] if row.size > MAX_COLS else []) for row in corner[:MAX_ROWS]]
    if corner.shape[0] > MAX_ROWS:
        rows.append(["⋮"] * len(rows[0]))
    where = f"<div style=\"color:#666\">values [{', '.join(['0'] * len(lead) + [':', ':'])}]</div>" if lead else ""
    return where + _table(rows) + f"<div style=\"color:#666\">{_e(_summary(array))}</div>"


def tensor_html(tensor):
    """The HTML view of a Tensor: shape, dtype, device, gradient state, the op that made it, its values."""
    facts = [("shape", tuple(tensor.shape)), ("dtype", tensor.dtype), ("device", tensor.device)]
    if tensor.name:
        facts.append(("name", tensor.name))
    if tensor.grad_fn is not None:
        facts.append(("made by", f"{tensor.grad_fn.name} (grad_fn)"))
    else:
        facts.append(("leaf", "requires_grad=True" if tensor.requires_grad else "constant (no grad)"))
    if tensor.grad is not None:
        facts.append(("grad", _summary(tensor.grad.numpy())))
    title = "Parameter" if type(tensor).__name__ == "Parameter" else "Tensor"
    return (f"<div><b>{title}</b>" + _table(facts) + values_html(tensor.numpy()) + "</div>")


def step_html(step):
    """The HTML view of a `BackwardStep`: the op, module, shapes and the gradients it passed on."""
    facts = [("step", f"#{step.index}"), ("op", step.op), ("module", step.module or "-")]
    if step.name:
        facts.append(("name", step.name))
    facts += [("output shape", tuple(step.output_shape)), ("dtype", step.grad_output.dtype),
              ("upstream gradient", str(step.grad_output_summary)),
              ("summed from", f"{step.paths} use{'s' if step.paths != 1 else ''}")]
    rows = [(i, shape if shape is not None else "-", "none" if s is None else str(s))
            for i, (shape, s) in enumerate(zip(step.input_shapes, step.grad_input_summaries))]
    inputs = _table(rows, ("input", "shape", "gradient sent")) if rows else "<div>a leaf: the gradient is accumulated into .grad</div>"
    return f"<div><b>Backward step</b>{_table(facts)}{inputs}</div>"


def module_html(module):
    """The HTML view of a Module: its class, path, parameter count and a row per child."""
    facts = [("module", type(module).__name__), ("path", module.path or "(root)"),
             ("parameters", f"{module.num_parameters():,}"), ("mode", "train" if module.training else "eval")]
    extra = module.extra_repr()
    if extra:
        facts.append(("settings", extra))
    children = [(name, type(child).__name__, f"{child.num_parameters():,}", child.extra_repr())
                for name, child in module._modules.items()]
    own = [(name, tuple(p.shape), p.dtype) for name, p in module._parameters.items()]
    parts = [f"<div><b>{_e(type(module).__name__)}</b>", _table(facts)]
    if children:
        parts.append(_table(children, ("child", "type", "parameters", "settings")))
    if own:
        parts.append(_table(own, ("parameter", "shape", "dtype")))
    return "".join(parts) + "</div>"


class GraphSVG:
    """A tensor's computation graph that Jupyter shows inline as SVG (needs Graphviz's `dot`).

    Args:
        tensor: the output whose graph is drawn.
        **options: those of the graph renderer (collapse=2 draws modules as boxes, show_backward, ...).
    """

    def __init__(self, tensor, **options):
        self.tensor, self.options = tensor, options

    def svg(self):
        """The picture as SVG text."""
        with tempfile.TemporaryDirectory() as directory:
            path = graph.render(self.tensor, os.path.join(directory, "graph.svg"), **self.options)
            with open(path, encoding="utf-8") as f:
                return f.read()

    def _repr_svg_(self):
        return self.svg()


def show_graph(tensor, **options):
    """`GraphSVG(tensor, **options)`: a notebook cell ending with it shows the graph."""
    return GraphSVG(tensor, **options)


def register_notebook_views(shell=None):
    """Have IPython/Jupyter show every `autograd.Tensor` as `tensor_html` and every `BackwardStep` as
    `step_html` (a no-op outside IPython).

    Args:
        shell: the IPython shell; None asks IPython for the running one, if any.

    Returns:
        True when the view was registered.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")  # never import IPython just to ask
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    formatter = shell.display_formatter.formatters["text/html"]
    formatter.for_type(Tensor, tensor_html)
    formatter.for_type(BackwardStep, step_html)
    return True
