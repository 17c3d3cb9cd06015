"""The catalogue: eight exercises in the paper's order, templates that are stubs of the solutions, hints."""
import ast

import numpy as np
import pytest

from tinygrad_tf.exercises import EXERCISES, start
from tinygrad_tf.exercises.catalogue import get
from tinygrad_tf.exercises.hints import next_hint

NAMES = ["matmul", "softmax", "layer_norm", "cross_entropy", "attention", "positional_encoding", "causal_mask", "adam"]


def test_the_eight_exercises_in_order():
    assert list(EXERCISES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_the_template_is_the_solution_with_a_stub_body(name):
    exercise = EXERCISES[name]
    template, solution = exercise.template, exercise.solution
    tree = ast.parse(template)
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == exercise.function)
    assert ast.get_docstring(function)  # the signature's meaning
    assert isinstance(function.body[-1], ast.Raise) and "NotImplementedError" in ast.unparse(function.body[-1])
    assert ast.get_docstring(tree) == ast.get_docstring(ast.parse(solution))  # the same math
    namespace = {}
    exec(compile(template, name, "exec"), namespace)
    with pytest.raises(NotImplementedError):
        namespace[exercise.function](*([np.zeros(2)] * len(function.args.args)))


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_has_a_few_hints(name):
    assert 2 <= len(EXERCISES[name].hints) <= 5
    assert EXERCISES[name].summary


def test_start_writes_the_template_and_never_overwrites(tmp_path):
    path = start("softmax", str(tmp_path / "work"))
    assert open(path, encoding="utf-8").read() == EXERCISES["softmax"].template
    with open(path, "a", encoding="utf-8") as f:
        f.write("# mine\n")
    with pytest.raises(FileExistsError, match="never overwritten"):
        start("softmax", str(tmp_path / "work"))
    assert open(path, encoding="utf-8").read().endswith("# mine\n")
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["softmax.py"]  # no temporary left


def test_hints_come_one_after_another_per_folder(tmp_path):
    hints = EXERCISES["adam"].hints
    shown = [next_hint("adam", str(tmp_path)) for _ in range(len(hints) + 1)]
    assert [s[0] for s in shown] == list(range(1, len(hints) + 1)) + [len(hints)]
    assert [s[2] for s in shown[:-1]] == list(hints)
    assert next_hint("softmax", str(tmp_path))[0] == 1  # each exercise counts its own
    (tmp_path / ".tinygrad-tf-hints.json").write_text("not json")
    assert next_hint("adam", str(tmp_path))[0] == 1  # an unreadable record starts again


def test_an_unknown_name_lists_the_exercises():
    with pytest.raises(KeyError, match="matmul, softmax"):
        get("attn")
