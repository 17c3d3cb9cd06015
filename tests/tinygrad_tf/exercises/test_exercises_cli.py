"""`tinygrad-tf exercise list|start|check|hint|solution`, as a learner runs them."""
import json
import os
import re
import shutil

import pytest
from click.testing import CliRunner

from exercise_answers import wrong_answer, write
from tinygrad_tf.cli import main
from tinygrad_tf.exercises import EXERCISES


def run(*args):
    return CliRunner().invoke(main, ["exercise", *args])


def test_list_names_the_eight_with_what_each_asks():
    result = run("list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == list(EXERCISES)
    assert all(EXERCISES[line.split()[0]].summary in line for line in lines)


def test_start_then_check_a_stub_then_the_right_answer(tmp_path):
    result = run("start", "softmax", "--dir", str(tmp_path))
    assert result.exit_code == 0 and "softmax.py" in result.output
    path = str(tmp_path / "softmax.py")
    result = run("check", "softmax", path)
    assert result.exit_code == 1 and "not yet implemented" in result.output and "Traceback" not in result.output
    write(tmp_path, "softmax", EXERCISES["softmax"].solution)
    result = run("check", "softmax", path)
    assert result.exit_code == 0, result.output
    assert result.output.count("PASS") >= 4 and "FAIL" not in result.output
    assert result.output.rstrip().endswith("every check passed")


def test_start_refuses_to_overwrite(tmp_path):
    assert run("start", "adam", "--dir", str(tmp_path)).exit_code == 0
    result = run("start", "adam", "--dir", str(tmp_path))
    assert result.exit_code == 1 and "never overwritten" in result.output and "Traceback" not in result.output


def test_check_of_the_common_softmax_mistake_says_where_in_one_screen(tmp_path):
    path = write(tmp_path, "softmax", wrong_answer(
        "softmax", "return y * (dy - (dy * y).sum(axis=axis, keepdims=True))", "return y * dy"))
    result = run("check", "softmax", path)
    assert result.exit_code == 1
    assert "first wrong: softmax (attention weights) in encoder.layers.0.self_attn" in result.output
    assert "should be:" in result.output
    assert len(result.output.splitlines()) <= 30


def test_check_of_a_wrong_mask_names_the_first_attention_it_changes(tmp_path):
    path = write(tmp_path, "causal_mask", "import numpy as np\n\ndef causal_mask(n):\n"
                                          "    return np.tril(np.ones((n, n), dtype=bool), -1)\n")
    result = run("check", "causal_mask", path)
    assert result.exit_code == 1
    assert "FAIL  small shapes" in result.output
    assert "first wrong: attention output in decoder.layers.0.self_attn" in result.output  # not a backward node
    assert ". . ." in result.output  # the masks drawn as rows


@pytest.mark.parametrize("args, message", [
    (("check", "softmaxx", "x.py"), "Invalid value"),
    (("hint", "nope"), "Invalid value"),
    (("check", "softmax"), "Missing argument"),
])
def test_bad_input_is_one_line(args, message):
    result = run(*args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_hint_gives_the_next_one(tmp_path):
    hints = EXERCISES["causal_mask"].hints
    outputs = [run("hint", "causal_mask", "--dir", str(tmp_path)).output for _ in hints]
    assert [o.splitlines()[0] for o in outputs] == [f"hint {i} of {len(hints)}: {h}" for i, h in enumerate(hints, 1)]
    assert "exercise solution causal_mask" in outputs[-1]


def test_solution_prints_the_reference():
    result = run("solution", "attention")
    assert result.exit_code == 0 and result.output == EXERCISES["attention"].solution


def test_explore_writes_the_page_opened_at_the_first_wrong_node(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed")
    path = write(tmp_path, "matmul", wrong_answer("matmul", "da = dc @ np.swapaxes(b, -1, -2)",
                                                  "da = 2 * dc @ np.swapaxes(b, -1, -2)"))
    page = tmp_path / "page.html"
    result = run("check", "matmul", path, "--explore", str(page))
    assert result.exit_code == 1 and f"wrote {page}" in result.output
    text = page.read_text(encoding="utf-8")
    assert "first wrong: matmul (weights × V) in encoder.layers.0.self_attn" in text  # the page's title
    step, node = re.search(r'window\.explorer\.step\((\d+)\); window\.explorer\.select\("(\w+)"\)', text).groups()
    data = json.loads(re.search(r'<script type="application/json" id="tinygrad-tf-graph">(.*?)</script>', text,
                                re.S).group(1))
    opened = data["steps"][int(step)]
    assert opened["node"] == node
    assert (opened["op"], opened["role"], opened["module"]) == ("matmul", "weights × V", "encoder.layers.0.self_attn")
    assert opened["check"] > 1e-3  # the page's own finite-difference check of that step fails too


def test_explore_refuses_a_page_in_a_missing_folder(tmp_path):
    result = run("check", "softmax", str(tmp_path / "s.py"), "--explore", str(tmp_path / "no" / "p.html"))
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not os.path.exists(tmp_path / "no")


def test_explore_of_an_answer_returning_none_prints_the_whole_report(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed")
    path = write(tmp_path, "softmax", "def softmax_backward(y, dy, axis=-1):\n    return None\n")
    result = run("check", "softmax", path, "--explore", str(tmp_path / "p.html"))
    assert result.exit_code == 1 and "internal error" not in result.output
    assert "FAIL  small shapes" in result.output and "did it forget to `return`?" in result.output
    assert "--explore: no page written: your answer could not run in the model" in result.output
    assert result.output.rstrip().endswith("softmax: 0 of 4 checks passed")


@pytest.mark.parametrize("where", ["in the function", "at the top of the file"])
def test_exit_zero_in_the_learners_code_is_not_a_pass(tmp_path, where):
    body = "    sys.exit(0)\n" if where == "in the function" else "    return y\n"
    top = "sys.exit(0)\n" if where == "at the top of the file" else ""
    path = write(tmp_path, "softmax", f"import sys\n{top}\ndef softmax_backward(y, dy, axis=-1):\n{body}")
    result = run("check", "softmax", path)
    assert result.exit_code == 1 and "your code called exit(0)" in result.output
    assert result.output.rstrip().endswith(("checks passed", "not checked"))
