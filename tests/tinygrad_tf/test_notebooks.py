"""Every notebook in examples/notebooks executes without error, shows its pictures inline, and matches its script."""
import glob
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "notebooks")
PATHS = sorted(glob.glob(os.path.join(NOTEBOOKS, "*.ipynb")))


def _code(notebook):
    return [c.source.strip() for c in notebook.cells if c.cell_type == "code"]


def test_there_are_notebooks():
    assert len(PATHS) >= 2


@pytest.mark.parametrize("path", PATHS, ids=os.path.basename)
def test_notebook_executes(path, monkeypatch):
    monkeypatch.setenv("TOUR_NOTEBOOK_STEPS", "20")  # the tour notebook trains a model when there is none: briefly here
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": os.path.dirname(path)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    code = [c for c in notebook.cells if c.cell_type == "code"]
    draws = [c for c in code if c.source.strip().splitlines()[-1].startswith("tour.draw_")]
    reports = [c for c in code if c.source.strip().splitlines()[-1] == "report"]  # an exercise's check
    assert draws or reports
    for cell in draws:
        kinds = {key for out in cell.outputs for key in out.get("data", {})}
        assert "image/png" in kinds, cell.source
    for cell in reports:
        html = "".join(out.get("data", {}).get("text/html", "") for out in cell.outputs)
        assert "checks passed" in html or "every check passed" in html, cell.source


@pytest.mark.parametrize("path", PATHS, ids=os.path.basename)
def test_notebook_matches_its_script(path):
    jupytext = pytest.importorskip("jupytext")
    script = os.path.splitext(path)[0] + ".py"
    assert os.path.isfile(script), f"{script} is missing (keep the percent script beside the notebook)"
    assert _code(jupytext.read(script)) == _code(nbformat.read(path, as_version=4)), \
        f"{path} is out of date: run jupytext --sync {script}"
