"""`tinygrad-tf step`: the backward walk as a table, --check, --interactive through stdin,
--frames/--gif pictures, and one-line errors."""
import os
import re
import sys

import numpy as np
import pytest

import autograd
from helpers import assert_clean_error, needs_dot, run_cli
from tinygrad_tf.cli.step import build
from tinygrad_tf.viz import frames as trace_graph
from tinygrad_tf.viz import trace

ROW = re.compile(r"^\s*(\d+)\s{2}(\S+)\s{2,}(\S.*?)\s{2,}(\S+)\s+(\(.*?\))\s+(\S+)")


def _run(*args, input=None):
    return run_cli("step", *args, input=input)


def _rows(output):
    """(index, op, module) of every table row."""
    return [(int(m.group(1)), m.group(2), m.group(4)) for m in map(ROW.match, output.splitlines()) if m]


def _roles(output):
    """{index: role} of every table row ('-' where a node has none)."""
    return {int(m.group(1)): m.group(3) for m in map(ROW.match, output.splitlines()) if m}


def test_step_attention_prints_forward_and_every_backward_step():
    result = _run("attention", "--seed", "1")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "\x1b[" not in out  # not a terminal: click strips the colours
    for fragment in ("forward", "x (input) (1, 4, 8)", "mask (4, 4)", "attention weights (1, 2, 4, 4)", "loss ()",
                     "self_attn.q_proj.weight", "backward"):
        assert fragment in out
    rows = _rows(out)
    assert [i for i, _, _ in rows] == list(range(len(rows)))
    ops_seen = {op for _, op, _ in rows}
    assert {"matmul", "softmax", "where", "div", "reshape", "transpose", "mean"} <= ops_seen
    assert ("softmax", "self_attn") in {(op, m) for _, op, m in rows}
    assert {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj"} <= {m for _, _, m in rows}
    assert "accumulate_grad(weight)" in ops_seen and "accumulate_grad(x)" in ops_seen
    x_row = next(line for line in out.splitlines() if "accumulate_grad(x)" in line)
    assert "summed x3" in x_row  # x feeds the query, key and value projections
    # the same number of steps as the walk from Python
    setup = build("attention", 8, 2, 4, 1)
    _, loss = setup.forward()
    assert len(rows) == sum(1 for _ in trace.backward_steps(loss))
    assert f"{len(rows)} steps" in out


def test_step_leaves_the_gradients_of_backward():
    """The command's model after the walk has backward()'s gradients (checked through build())."""
    a, b = build("encoder-layer", 8, 2, 3, 5, "float64"), build("encoder-layer", 8, 2, 3, 5, "float64")
    a.forward()[1].backward()
    for _ in trace.backward_steps(b.forward()[1]):
        pass
    for (name, pa), (_, pb) in zip(a.root.named_parameters(), b.root.named_parameters()):
        np.testing.assert_array_equal(pa.grad.numpy(), pb.grad.numpy(), err_msg=name)


@pytest.mark.parametrize("args, expected", [
    (("mlp",), {"relu", "linear", "mean"}),
    (("mlp", "--composed"), {"relu", "matmul", "add", "mean"}),
    (("mlp", "--loss", "cross-entropy"), {"relu", "cross_entropy"}),
    (("encoder-layer", "--d-model", "8", "--heads", "4", "--seq-len", "3"), {"layer_norm", "softmax", "relu"}),
])
def test_step_other_models(args, expected):
    result = _run(*args)
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert expected <= {op for _, op, _ in rows}
    if args[0] == "encoder-layer":
        modules = {m for _, _, m in rows}
        assert {"layer.self_attn", "layer.feed_forward.linear1", "layer.norm1", "layer.norm2"} <= modules


def test_check_errors_are_small_in_float64():
    result = _run("attention", "--check", "--dtype", "float64")
    assert result.exit_code == 0, result.output
    errors = []
    for line in result.output.splitlines():
        if ROW.match(line):
            last = line.split()[-1]
            if "accumulate_grad" in line:
                assert last == "-"
            else:
                errors.append(float(last))
    assert len(errors) > 20
    assert max(errors) < 1e-5, errors


def test_check_samples_fewer_elements_of_large_ops(monkeypatch):
    """Every element of a small op; a sample of a large one, so --check at the largest sizes stays seconds per step."""
    real_check = trace.check_step

    def sample_sizes(*args):
        samples = []
        monkeypatch.setattr(trace, "check_step", lambda s, max_elements: samples.append((s.op, max_elements)) or
                            real_check(s, max_elements=max_elements))
        result = _run("mlp", "--check", *args)
        assert result.exit_code == 0, result.output
        return samples

    assert {n for _, n in sample_sizes()} == {1000}  # the default sizes: no op samples
    large = sample_sizes("--d-model", "512", "--seq-len", "256")
    assert all(10 <= n <= 1000 for _, n in large)
    assert max(n for op, n in large if op == "linear") < 100, large


def test_interactive_stops_at_q_and_prints_full_arrays_on_p():
    # d_model 16, seq_len 8: tensors of 128 values, which the table view would summarise
    result = _run("attention", "--interactive", "--d-model", "16", "--seq-len", "8", input="\n\np\nq\n")
    assert result.exit_code == 0, result.output
    out = result.output
    assert [i for i, _, _ in _rows(out)] == [0, 1, 2]  # stopped at the third step
    assert "stopped at step 2" in out and "steps; every parameter" not in out
    printed = out[out.index("> p"):out.index("> q")]
    assert "step 2: sub" in printed and "grad_output" in printed and "grad to input 0 (1, 8, 16)" in printed
    assert "..." not in printed  # every value, not a summary
    block = printed[printed.index("grad_output"):printed.index("grad to input 0")]
    assert len(re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", block.split("\n", 1)[1])) == 128


def test_interactive_unknown_command_graph_and_end_of_input(monkeypatch, tmp_path):
    monkeypatch.setattr(trace_graph, "dot_available", lambda: False)  # as if Graphviz were missing
    result = _run("mlp", "--composed", "-i", input="x\ng\n")  # then end of input: the walk finishes
    assert result.exit_code == 0, result.output
    assert "unknown command 'x'" in result.output
    assert "g: " + trace_graph.DOT_MISSING in result.output
    assert "15 steps; every parameter" in result.output


def _written(output):
    return re.findall(r"g: the backward pass so far is drawn in (\S+)", output)


@needs_dot
def test_interactive_graph_draws_the_backward_in_progress(tmp_path):
    result = _run("mlp", "-i", "--frames", str(tmp_path), input="\ng\n\n\ng\nq\n")
    assert result.exit_code == 0, result.output
    first, second = _written(result.output)
    assert first.endswith("backward-step-001.svg") and second.endswith("backward-step-003.svg")
    one, three = (open(p, encoding="utf-8").read() for p in (first, second))
    assert one != three
    # the current node is orange, the ones visited before it light blue, gradients sent are red edges
    assert one.count('fill="orange"') == 1 and one.count('fill="lightblue"') == 1
    assert three.count('fill="orange"') == 1 and three.count('fill="lightblue"') == 3
    assert three.count('stroke="#c62828"') > one.count('stroke="#c62828"')


@needs_dot
def test_interactive_graph_files_stay_where_the_learner_finds_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _run("mlp", "-i", input="g\nq\n")
    assert result.exit_code == 0, result.output
    (path,) = _written(result.output)
    assert path == str(tmp_path / "step-graphs" / "backward-step-000.svg")  # printed whole: found from anywhere
    assert "type a key, then Enter" in result.output and "key + Enter > " in result.output
    assert os.path.exists(path) and "stays there after you quit" in result.output  # kept after the session


@needs_dot
def test_frames_and_gif(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    frames, gif = tmp_path / "frames", tmp_path / "backprop.gif"
    result = _run("mlp", "--frames", str(frames), "--gif", str(gif))
    assert result.exit_code == 0, result.output
    count = len(_rows(result.output))
    names = sorted(os.listdir(frames))
    assert names == [f"step-{i:03d}.png" for i in range(count)]
    first = pil.open(frames / names[0])
    assert first.size[0] > 100 and first.size[1] > 100
    assert len(first.convert("RGB").getcolors(1 << 20)) > 2  # not blank
    with pil.open(gif) as animation:
        assert animation.n_frames == count
        durations = []
        for i in range(count):
            animation.seek(i)
            durations.append(animation.info["duration"])
    assert durations[-1] > 2 * durations[0]  # the finished picture stays up longer
    assert f"{count} frames written" in result.output and "animation written" in result.output


@needs_dot
def test_frame_highlights_current_node_and_visited_part():
    setup = build("mlp", 4, 1, 2, 0)
    _, loss = setup.forward()
    frames = trace_graph.BackwardFrames(loss)
    steps = trace.backward_steps(loss)
    for _ in range(3):
        frames.visit(next(steps))
    source = frames.to_dot().source
    assert source.count("fillcolor=orange") == 1  # the current node
    assert source.count("fillcolor=lightblue") == 2  # the two visited before it
    assert "cluster_linear2" in source and "step 2: sub" in source
    sent = sum(g is not None for s in frames.steps for g in s.grad_inputs)
    shown = re.findall(r'label="(\d\.\d\de[-+]\d\d)" color="#c62828"', source)
    assert len(shown) == 1 + sent  # the output's gradient, and each one sent so far
    hidden = re.findall(r'label="0\.00e\+00" constraint=false style=invis', source)
    assert len(shown) + len(hidden) == len(re.findall(r"constraint=false", source))  # every edge laid out from the start
    steps.close()


def test_gif_without_pillow_is_a_clean_error(monkeypatch, tmp_path):
    monkeypatch.setattr(trace_graph, "dot_available", lambda: True)
    monkeypatch.setitem(sys.modules, "PIL", None)
    result = _run("mlp", "--gif", str(tmp_path / "a.gif"))
    assert_clean_error(result, "Pillow")
    assert not os.path.exists(tmp_path / "a.gif")


def test_frames_without_dot_is_a_clean_error(monkeypatch, tmp_path):
    monkeypatch.setattr(trace_graph, "dot_available", lambda: False)
    assert_clean_error(_run("attention", "--frames", str(tmp_path / "f")), "Graphviz", "install")


@pytest.mark.parametrize("args, fragment", [
    (("transformer",), "transformer"),
    (("attention", "--heads", "3"), "not divisible"),
    (("attention", "--d-model", "0"), "--d-model"),
    (("attention", "--seq-len", "x"), "--seq-len"),
    (("mlp", "--loss", "hinge"), "hinge"),
    (("attention", "--bogus"), "--bogus"),
    ((), "Missing argument"),
])
def test_cli_errors_are_one_line(args, fragment):
    assert_clean_error(_run(*args), fragment)


@needs_dot
def test_frames_path_that_is_a_file_is_a_clean_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_clean_error(_run("mlp", "--frames", str(blocker)))


def test_step_table_names_roles_and_tells_the_two_attention_matmuls_apart():
    result = _run("attention")
    assert result.exit_code == 0, result.output
    rows, roles = _rows(result.output), _roles(result.output)
    matmul_roles = {roles[i] for i, op, _ in rows if op == "matmul"}
    assert matmul_roles == {"scores QKᵀ", "weights × V"}
    assert {"Q", "K", "V", "split heads", "merge heads", "mask (causal)", "attention weights"} <= set(roles.values())
