"""`exercises.check`: every reference solution passes, typical wrong answers fail, and a wrong backward is
blamed on the node of the op the bug is in; the learner's errors show the learner's own lines."""
import os
import sys

import numpy as np
import pytest

from exercise_answers import WRONG, wrong_answer, write
from tinygrad_tf.exercises import EXERCISES, check
from tinygrad_tf.exercises.backward_rules import RULES

WRONG_CASES = [(name, *entry) for name, entries in WRONG.items() for entry in entries]


@pytest.mark.parametrize("name", list(EXERCISES))
def test_the_reference_solution_passes_every_check(tmp_path, name):
    report = check(name, write(tmp_path, name, EXERCISES[name].solution))
    assert report.passed, report.text()
    assert report.first_wrong is None and report.problem is None
    assert len(report.checks) >= 3
    assert any(c.title.startswith(("inside", "training")) for c in report.checks)  # the model run
    assert report.text().endswith("every check passed")


def test_every_exercise_has_at_least_three_wrong_answers():
    assert set(WRONG) == set(EXERCISES)
    assert all(len(entries) >= 3 for entries in WRONG.values())


@pytest.mark.parametrize("name, mistake, old, new, op", WRONG_CASES, ids=[f"{c[0]}: {c[1]}" for c in WRONG_CASES])
def test_a_wrong_answer_fails_and_the_first_wrong_node_is_its_op(tmp_path, name, mistake, old, new, op):
    report = check(name, write(tmp_path, name, wrong_answer(name, old, new)))
    assert not report.passed
    assert report.problem is None, report.problem  # it ran: the checks found it
    if op is None:
        assert report.first_wrong is None
        return
    wrong = report.first_wrong
    assert wrong is not None, report.text()
    assert wrong.op == op
    module = RULES[name].module
    if module is not None:
        assert wrong.module == module or wrong.module.startswith(module + ".")
    assert wrong.sent and all(d.largest_error > 0 for _, d in wrong.sent)
    assert not any("learners" in label for label in wrong.later)  # later nodes named as the ops they are
    assert f"first wrong: {wrong.label}" in report.text()


def test_the_softmax_report_names_the_first_encoder_layers_self_attention(tmp_path):
    """The common wrong answer: the − Σ dy·y term missing."""
    report = check("softmax", write(tmp_path, "softmax", "def softmax_backward(y, dy, axis=-1):\n    return y * dy\n"))
    text = report.text()
    assert "first wrong: softmax (attention weights) in encoder.layers.0.self_attn" in text
    assert "should be:" in text and "was:" in text
    wrong = report.first_wrong
    (name, difference), = wrong.sent
    assert name == "dx"
    assert difference.got.shape == difference.expected.shape == (2, 2, 4, 4)  # (batch, heads, q_len, k_len)
    assert not np.allclose(difference.got, difference.expected)
    assert wrong.later and wrong.parameters  # what went wrong because of it is listed
    assert len(text.splitlines()) <= 30  # one screen


def test_a_stub_is_reported_as_not_yet_implemented(tmp_path):
    report = check("softmax", write(tmp_path, "softmax", EXERCISES["softmax"].template))
    assert not report.passed
    assert "not yet implemented" in report.problem
    assert "Traceback" not in report.text()


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "adam", "import numpy as np\n\ndef adam_step(param, grad, m, v, t, lr, betas, eps):\n"
                                   "    return (param,\n")
    report = check("adam", path)
    assert not report.passed
    assert report.problem.startswith(f"syntax error in {path}, line 4")


def test_an_error_in_the_learners_code_shows_only_the_learners_frames(tmp_path):
    source = ("import numpy as np\n\n\ndef helper(y, dy):\n    return y @ dy  # the shapes do not align\n\n\n"
              "def softmax_backward(y, dy, axis=-1):\n    return y * (dy - helper(y, dy))\n")
    path = write(tmp_path, "softmax", source)
    text = check("softmax", path).text()
    assert f'File "{path}", line 9, in softmax_backward' in text
    assert f'File "{path}", line 5, in helper' in text
    assert "return y @ dy  # the shapes do not align" in text
    assert "ValueError" in text
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert "tinygrad_tf/exercises" not in text and "autograd/" not in text and "ops/" not in text
    assert package not in text


def test_an_error_inside_the_models_backward_shows_the_learners_frames(tmp_path):
    """In the model the learner's function runs inside the engine's backward: still only the learner's lines."""
    source = ("def softmax_backward(y, dy, axis=-1):\n    if y.ndim == 4:\n        raise RuntimeError('only in the model')\n"
              "    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))\n")
    path = write(tmp_path, "softmax", source)
    report = check("softmax", path)
    model = report.checks[-1]
    assert not model.passed and report.checks[0].passed
    details = "\n".join(model.details)
    assert f'File "{path}", line 3, in softmax_backward' in details and "RuntimeError: only in the model" in details
    assert "autograd" not in details


def test_the_file_must_define_the_function(tmp_path):
    report = check("causal_mask", write(tmp_path, "causal_mask", "def mask(n):\n    return None\n"))
    assert "defines no function causal_mask()" in report.problem


def test_a_missing_file_is_a_one_line_problem(tmp_path):
    report = check("matmul", str(tmp_path / "nowhere.py"))
    assert "no such file" in report.problem and len(report.problem.splitlines()) == 1


def test_an_unknown_exercise_is_a_key_error_naming_them_all(tmp_path):
    with pytest.raises(KeyError, match="softmax"):
        check("softmaxx", str(tmp_path / "x.py"))


def test_loading_leaves_no_module_and_no_path_behind(tmp_path):
    modules, path = set(sys.modules), list(sys.path)
    check("causal_mask", write(tmp_path, "causal_mask", EXERCISES["causal_mask"].solution))
    assert [m for m in set(sys.modules) - modules if "causal_mask" in m] == []
    assert sys.path == path


def test_a_wrong_return_is_said_plainly(tmp_path):
    report = check("layer_norm", write(tmp_path, "layer_norm", "def layer_norm_backward(x, weight, dy, eps):\n"
                                                               "    return x\n"))
    assert "layer_norm_backward returned one array; expected a tuple (dx, dweight, dbias)" in report.text()
    report = check("softmax", write(tmp_path, "softmax", "def softmax_backward(y, dy, axis=-1):\n    pass\n"))
    assert "did it forget to `return`?" in report.text()


def test_the_report_displays_itself_in_jupyter(tmp_path):
    report = check("softmax", write(tmp_path, "softmax", "def softmax_backward(y, dy, axis=-1):\n    return y * dy\n"))
    page = report._repr_html_()
    assert page.startswith("<pre") and "first wrong: softmax (attention weights)" in page
    assert "FAIL" in page and "&lt;" not in report.text()


def test_deep_recursion_shows_the_first_and_last_calls(tmp_path):
    source = "def causal_mask(n):\n    return causal_mask(n + 1)\n"
    report = check("causal_mask", write(tmp_path, "causal_mask", source))
    details = report.checks[0].details
    assert any("more calls ..." in line for line in details) and "RecursionError" in "\n".join(details)
    assert len(details) < 30


def test_a_wrong_signature_is_the_message_alone(tmp_path):
    report = check("softmax", write(tmp_path, "softmax", "def softmax_backward(y):\n    return y\n"))
    text = "\n".join(report.checks[0].details)
    assert "TypeError: softmax_backward() takes 1 positional argument but 3 were given" in text
    assert "Traceback" not in text


def test_explore_for_adam_says_there_is_no_graph(tmp_path):
    report = check("adam", write(tmp_path, "adam", EXERCISES["adam"].solution), explore=str(tmp_path / "p.html"))
    assert report.passed and report.page is None and "no graph to explore" in report.note
    assert not (tmp_path / "p.html").exists()


def test_explore_without_graphviz_is_a_note(tmp_path, monkeypatch):
    from tinygrad_tf.viz import graph

    monkeypatch.setattr(graph, "dot_available", lambda: False)
    report = check("softmax", write(tmp_path, "softmax", EXERCISES["softmax"].solution), explore=str(tmp_path / "p.html"))
    assert report.passed and report.page is None and "Graphviz" in report.note


def test_without_torch_the_pytorch_checks_are_left_out(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    report = check("cross_entropy", write(tmp_path, "cross_entropy", EXERCISES["cross_entropy"].solution))
    assert report.passed and not any("PyTorch" in c.title for c in report.checks)


def test_an_attention_outside_the_graph_is_said_plainly(tmp_path):
    numpy_attention = ("import numpy as np\n\ndef attention(q, k, v, mask=None):\n"
                       "    return np.zeros(q.shape[:-1] + (v.shape[-1],))\n")
    text = check("attention", write(tmp_path, "attention", numpy_attention)).text()
    assert "attention returned ndarray; it must return a Tensor made with ops" in text
    detached = "def attention(q, k, v, mask=None):\n    return (q @ k.swapaxes(-1, -2) @ v).detach()\n"
    text = check("attention", write(tmp_path, "attention", detached)).text()
    assert "not in the graph of q, k and v" in text


def test_a_float16_gradient_is_named_in_the_cases_and_in_the_model(tmp_path):
    source = ("import numpy as np\n\ndef softmax_backward(y, dy, axis=-1):\n"
              "    return (y * (dy - (dy * y).sum(axis=axis, keepdims=True))).astype(np.float16)\n")
    report = check("softmax", write(tmp_path, "softmax", source))
    assert "dx returned float16 where the inputs were float64: " in report.checks[0].details[0]
    (name, difference), = report.first_wrong.sent
    assert difference.narrowed == "float16 where the inputs were float64"
    assert "sent dx: returned float16 where the inputs were float64" in report.text()
