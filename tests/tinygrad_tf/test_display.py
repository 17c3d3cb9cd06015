"""Jupyter's HTML views (tinygrad_tf.viz.display): Tensor, backward step record, Module."""
import html
import re
import shutil

import numpy as np
import pytest

from autograd import Tensor
from tinygrad_tf import nn
from tinygrad_tf.notebook import register_views
from tinygrad_tf.viz import trace
from tinygrad_tf.viz.display import register_notebook_views, step_html, tensor_html, values_html


def _cells(page):
    return [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", page)]


def test_tensor_view_has_shape_dtype_op_and_values(device):
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, device=device)
    y = x * 2.0
    page = tensor_html(y)
    cells = _cells(page)
    assert "(2, 3)" in cells and "float32" in cells and device in cells
    assert f"{y.grad_fn.name} (grad_fn)" in cells and y.grad_fn.name in page
    assert [c for c in cells if c in {"0", "2", "4", "6", "8", "10"}] == ["0", "2", "4", "6", "8", "10"]
    leaf = _cells(tensor_html(x))
    assert "requires_grad=True" in leaf


def test_large_tensor_shows_a_corner_and_a_summary(rng):
    values = rng.normal(size=(3, 20, 30))
    page = tensor_html(Tensor(values))
    cells = _cells(page)
    assert "…" in cells and "⋮" in cells
    assert f"{values[0, 0, 0]:.4g}" in cells and f"{values[0, 7, 9]:.4g}" in cells
    assert f"max {float(values.astype(np.float32).max()):.4g}" in page
    assert values_html(np.float32(2.5)).count("2.5") == 1
    assert "3 True of 4" in values_html(np.array([True, True, False, True]))


def test_escapes_names():
    t = Tensor([1.0])
    t.name = "<script>"
    assert "<script>" not in tensor_html(t) and "&lt;script&gt;" in tensor_html(t)


class _Formatter:
    def __init__(self):
        self.types = {}

    def for_type(self, kind, function):
        self.types[kind] = function


class _Shell:  # what IPython's shell offers: display_formatter.formatters[mime type]
    def __init__(self):
        self.display_formatter = type("DisplayFormatter", (), {"formatters": {"text/html": _Formatter()}})()


def test_jupyter_draws_tensors_with_the_tensor_view():
    shell = _Shell()
    assert register_notebook_views(shell)
    assert shell.display_formatter.formatters["text/html"].types == {Tensor: tensor_html, trace.BackwardStep: step_html}
    assert not hasattr(Tensor, "_repr_html_")  # the engine knows nothing of notebooks
    assert not hasattr(trace.BackwardStep, "_repr_html_")  # nor do the records: the view is registered from viz


def test_backward_step_view():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    steps = list(trace.backward_steps((x * x).sum()))
    mul = next(s for s in steps if s.op == "mul")
    cells = _cells(step_html(mul))
    assert "mul" in cells and "(2, 3)" in cells and str(mul.grad_output_summary) in cells
    assert str(mul.grad_input_summaries[0]) in cells
    leaf = next(s for s in steps if s.is_leaf)
    assert "accumulated into .grad" in step_html(leaf)


def test_module_view_is_registered_with_jupyter_and_the_module_knows_nothing_of_it():
    shell = _Shell()
    assert register_views(shell)
    views = shell.display_formatter.formatters["text/html"].types
    assert views[Tensor] is tensor_html and not hasattr(nn.Module, "_repr_html_")
    view = views[nn.Module]  # IPython looks a type's view up along its MRO: every Module subclass uses it
    layer = nn.EncoderLayer(16, 2, 32, dropout=0.0)
    cells = _cells(view(layer))
    assert "EncoderLayer" in cells and f"{layer.num_parameters():,}" in cells
    assert "self_attn" in cells and "MultiHeadAttention" in cells and "d_model=16, num_heads=2" in cells
    linear = _cells(view(nn.Linear(4, 3)))
    assert "weight" in linear and "(3, 4)" in linear and "float32" in linear


def test_graph_shows_inline_as_svg():
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    from tinygrad_tf.viz.display import show_graph

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    svg = show_graph((x * x).sum())._repr_svg_()
    assert svg.lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE")) and "<svg" in svg and "mul" in svg


def test_tour_figures_show_inline_as_png():
    pytest.importorskip("matplotlib")
    from tinygrad_tf import tour

    png = tour.draw_positional(tour.positional_data(positions=4, d_model=8))._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
