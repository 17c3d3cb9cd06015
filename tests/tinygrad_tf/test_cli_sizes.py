"""Big pictures and pages are announced before the work (with how to make them smaller), too big a page is
refused, and `graph` draws the mlp as `step` and `explore` do.
"""
import os
import shutil

import pytest
from helpers import assert_clean_error, run_cli

from tinygrad_tf.cli import explore as explore_command
from tinygrad_tf.cli import graph as graph_command

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")


@needs_dot
def test_a_graph_too_big_for_a_quick_layout_is_announced_before_drawing(tmp_path, monkeypatch):
    monkeypatch.setattr(graph_command, "SLOW_EDGES", 20)  # the attention graph has more edges than this
    result = run_cli("graph", "attention", "--out", tmp_path / "a.svg")
    assert result.exit_code == 0, result.output
    warning = next(line for line in result.output.splitlines() if line.startswith("the graph has"))
    assert "--collapse 2" in warning and "minutes" in warning
    assert result.output.index(warning) < result.output.index("wrote")  # said before, not after


@needs_dot
def test_a_small_graph_is_drawn_without_a_warning(tmp_path):
    result = run_cli("graph", "attention", "--out", tmp_path / "a.svg")
    assert result.exit_code == 0 and "the graph has" not in result.output


@needs_dot
def test_graph_draws_the_mlp(tmp_path):
    result = run_cli("graph", "mlp", "--out", tmp_path / "mlp")
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "mlp.svg").read_text(encoding="utf-8")
    assert "linear1" in svg and "linear2" in svg and "relu" in svg
    assert_clean_error(run_cli("graph", "mlp", "--heads", "2", "--out", tmp_path / "m.svg"), "--heads")


@needs_dot
def test_a_page_too_big_to_open_is_refused_before_the_work_with_a_value_limit_that_fits(tmp_path, monkeypatch):
    page = tmp_path / "b.html"
    monkeypatch.setattr(explore_command, "MAX_PAGE", 20_000)
    error = assert_clean_error(run_cli("explore", "attention", "--value-limit", "1000", "--out", page),
                               "--value-limit")
    assert not page.exists()
    fitting = int(error.split("--value-limit ")[1].split()[0])
    assert fitting < 1000
    result = run_cli("explore", "attention", "--value-limit", fitting, "--out", page)
    assert result.exit_code == 0, result.output
    assert os.path.getsize(page) > 0


@needs_dot
def test_a_big_page_is_announced_before_the_work(tmp_path, monkeypatch):
    monkeypatch.setattr(explore_command, "LARGE_PAGE", 1_000)
    result = run_cli("explore", "attention", "--out", tmp_path / "b.html")
    assert result.exit_code == 0, result.output
    announced = next(line for line in result.output.splitlines() if line.startswith("building a page of about"))
    assert result.output.index(announced) < result.output.index("wrote")
