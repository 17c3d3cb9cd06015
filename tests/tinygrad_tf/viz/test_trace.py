"""tinygrad_tf.viz.trace: stepping through backward one node at a time.

The stepped gradients equal backward()'s, the records name ops and modules,
come in a valid reverse-topological order, mark accumulated gradients exactly
where a tensor was used more than once, and check_step agrees with central
differences (and catches a wrong backward).
"""
import numpy as np
import pytest

import ops
import autograd
from autograd import Tensor, manual_seed
from helpers import wrong_square
from tinygrad_tf import nn
from tinygrad_tf.viz import trace


def _attention(seed=0, d_model=8, heads=2, seq_len=4):
    """A float64 self-attention block with a causal mask: (root module, input, loss)."""
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    root = nn.Module()
    root.self_attn = nn.MultiHeadAttention(d_model, heads)
    root.to(dtype=np.float64)
    x = Tensor(rng.standard_normal((2, seq_len, d_model)), dtype="float64", requires_grad=True)
    target = Tensor(rng.standard_normal((2, seq_len, d_model)), dtype="float64")
    out = root.self_attn(x, x, x, ops.causal_mask(seq_len))
    return root, x, ops.mse_loss(out, target)


def _mlp(seed=0, loss="mse", fused=True):
    """A float64 two-layer MLP with relu: (root module, input, loss); `fused=False`: matmul + add layers."""
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    root = nn.Module()
    root.fc1 = nn.Linear(6, 12)
    root.fc2 = nn.Linear(12, 5)
    nn.set_fused(root, fused)
    root.to(dtype=np.float64)
    x = Tensor(rng.standard_normal((7, 6)), dtype="float64", requires_grad=True)
    out = root.fc2(ops.relu(root.fc1(x)))
    if loss == "mse":
        return root, x, ops.mse_loss(out, Tensor(rng.standard_normal((7, 5)), dtype="float64"))
    return root, x, ops.cross_entropy(out, rng.integers(0, 5, size=7))


BUILDERS = {"attention": _attention, "mlp": _mlp, "mlp-composed": lambda: _mlp(fused=False),
            "mlp-ce": lambda: _mlp(loss="cross-entropy")}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_stepped_gradients_equal_backward(name):
    root_a, x_a, loss_a = BUILDERS[name]()
    loss_a.backward()
    root_b, x_b, loss_b = BUILDERS[name]()
    steps = list(trace.backward_steps(loss_b))
    assert steps, "no steps"
    params_a, params_b = dict(root_a.named_parameters()), dict(root_b.named_parameters())
    assert params_a.keys() == params_b.keys()
    for key in params_a:
        assert params_b[key].grad is not None, key
        assert params_b[key].grad.dtype == np.float64
        np.testing.assert_array_equal(params_b[key].grad.numpy(), params_a[key].grad.numpy(), err_msg=key)
    np.testing.assert_array_equal(x_b.grad.numpy(), x_a.grad.numpy())
    # one record per step the engine runs, numbered in order
    assert [s.index for s in steps] == list(range(len(steps)))
    _, _, loss_c = BUILDERS[name]()
    assert len(steps) == sum(1 for _ in autograd.backward_steps(loss_c))


def test_steps_name_ops_and_modules():
    root, x, loss = _attention()
    steps = list(trace.backward_steps(loss))
    ops_seen = {s.op for s in steps}
    assert {"linear", "matmul", "softmax", "where", "div", "reshape", "transpose", "mean", "accumulate_grad"} <= ops_seen
    modules = {s.module for s in steps}
    for path in ("self_attn", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj"):
        assert path in modules, modules
    by_op = {}
    for s in steps:
        by_op.setdefault(s.op, set()).add(s.module)
    assert by_op["softmax"] == {"self_attn"} and by_op["where"] == {"self_attn"}
    assert by_op["mean"] == {None}  # the loss is made outside any module
    # every parameter gets exactly one accumulate_grad record, named and placed in its module
    leaves = [s for s in steps if s.op == trace.LEAF_OP]
    names = [s.name for s in leaves if s.tensor is not x]
    x_leaf = next(s for s in leaves if s.tensor is x)
    assert x_leaf.name is None and x_leaf.module is None and x_leaf.label == "accumulate_grad"
    assert sorted(names) == sorted(n for n, _ in root.named_parameters())
    for s in leaves:
        assert s.is_leaf and s.ctx is None and s.grad_inputs == () and s.grad_input_summaries == ()
        if s.name and s.name.startswith("self_attn.q_proj."):
            assert s.module == "self_attn.q_proj" and s.label == f"accumulate_grad({s.name})"


def test_record_fields_are_consistent():
    _, _, loss = _attention()
    for s in trace.backward_steps(loss):
        assert s.output_shape == s.tensor.shape == s.grad_output.shape
        assert s.grad_output_summary == trace.summary(s.grad_output)
        assert len(s.grad_inputs) == len(s.grad_input_summaries)
        if not s.is_leaf:
            assert len(s.grad_inputs) == len(s.ctx.inputs) == len(s.input_shapes)
            for inp, g, shape in zip(s.ctx.inputs, s.grad_inputs, s.input_shapes):
                if g is None:
                    assert not getattr(inp, "requires_grad", False)
                else:
                    assert g.shape == inp.shape == shape  # after unbroadcasting
        assert s.op in str(s) and str(s).startswith(f"#{s.index} ")
    first = next(trace.backward_steps(_mlp()[2]))
    assert first.index == 0 and first.output_shape == () and first.grad_output.item() == 1.0


def test_records_come_in_reverse_topological_order():
    _, _, loss = _attention()
    steps = list(trace.backward_steps(loss))
    position = {id(s.tensor): s.index for s in steps}
    assert len(position) == len(steps), "a tensor was visited twice"
    assert steps[0].tensor is loss
    for s in steps:
        if s.is_leaf:
            continue
        for inp in s.ctx.inputs:
            if getattr(inp, "requires_grad", False):
                assert position[id(inp)] > s.index, f"{s.op} (step {s.index}) ran before its input"
    # and each node only after every node that uses it
    for s in steps:
        if not s.is_leaf:
            for inp in s.ctx.inputs:
                if id(inp) in position:
                    users = [u.index for u in steps if not u.is_leaf and any(i is inp for i in u.ctx.inputs)]
                    assert max(users) < position[id(inp)]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_accumulated_exactly_where_a_tensor_is_used_several_times(name):
    _, x, loss = BUILDERS[name]()
    uses = {}
    for t in autograd.topological_order(loss):
        if t._ctx is not None:
            for inp in t._ctx.inputs:
                if getattr(inp, "requires_grad", False):
                    uses[id(inp)] = uses.get(id(inp), 0) + 1
    steps = list(trace.backward_steps(loss))
    for s in steps:
        expected = uses.get(id(s.tensor), 1)
        assert s.paths == expected, (s.op, s.module)
        assert s.accumulated == (expected > 1), (s.op, s.module)
    x_step = next(s for s in steps if s.tensor is x)
    if name == "attention":
        assert x_step.accumulated and x_step.paths == 3  # query, key and value projections
    else:
        assert not x_step.accumulated
    assert any(s.accumulated for s in steps) == (name == "attention")


def test_accumulated_when_one_op_uses_a_tensor_twice():
    a = Tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    steps = list(trace.backward_steps((a * a).sum()))
    leaf = steps[-1]
    assert leaf.tensor is a and leaf.accumulated and leaf.paths == 2
    np.testing.assert_allclose(a.grad.numpy(), [2.0, 4.0, 6.0])


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_check_step_agrees_with_central_differences(name):
    _, _, loss = BUILDERS[name]()
    checked = 0
    for s in trace.backward_steps(loss):
        error = trace.check_step(s)
        if s.is_leaf:
            assert error is None
            continue
        assert error is not None and error < 1e-5, (s.index, s.op, s.module, error)
        checked += 1
    assert checked >= 4  # every op node of the smallest model (mlp-ce: linear, relu, linear, loss)


def test_check_step_catches_a_wrong_backward():
    bad_square = wrong_square(3.0)  # backward sends 3x where 2x is right
    x = Tensor(np.linspace(0.5, 2.0, 6), dtype="float64", requires_grad=True)
    steps = list(trace.backward_steps(bad_square.apply(x).sum()))
    bad = next(s for s in steps if s.op == "wrong_square")
    assert trace.check_step(bad) == pytest.approx(1 / 3, rel=1e-6)  # ||3x - 2x|| / ||3x||
    assert trace.check_step(steps[0]) < 1e-8  # the sum is right


def test_check_step_with_a_sample_of_elements_and_on_float32():
    manual_seed(3)
    w = Tensor(np.random.default_rng(3).standard_normal((20, 30)), requires_grad=True)  # float32
    v = Tensor(np.random.default_rng(4).standard_normal((30, 5)), requires_grad=True)
    steps = list(trace.backward_steps(ops.softmax(ops.matmul(w, v), axis=-1).sum()))
    matmul = next(s for s in steps if s.op == "matmul")
    assert trace.check_step(matmul, max_elements=40) < 1e-4  # float32 rounding, float64 differences


def test_check_step_skips_random_ops():
    x = Tensor(np.ones((4, 4)), dtype="float64", requires_grad=True)
    steps = list(trace.backward_steps(ops.dropout(x, 0.5).sum()))
    drop = next(s for s in steps if s.op == "dropout")
    assert trace.check_step(drop) is None


def test_partial_walk_and_given_grad():
    root, x, loss = _mlp()
    walk = trace.backward_steps(loss)
    for _ in range(3):
        next(walk)
    walk.close()
    assert all(p.grad is None for p in root.parameters())  # no leaf reached yet
    # a non-scalar output with an explicit upstream gradient
    a = Tensor(np.arange(6.0).reshape(2, 3), dtype="float64", requires_grad=True)
    g = np.full((2, 3), 2.0)
    steps = list(trace.backward_steps(a * 3.0, grad=g))
    np.testing.assert_allclose(steps[0].grad_output.numpy(), g)
    np.testing.assert_allclose(a.grad.numpy(), np.full((2, 3), 6.0))


def test_summary():
    s = trace.summary(Tensor([3.0, -4.0]))
    assert (s.norm, s.min, s.max, s.mean) == (5.0, -4.0, 3.0, -0.5)
    assert trace.summary(None) is None
    assert "norm 5" in str(s)


def test_trace_on_each_device(device):
    """Stepping and checking work on the device's arrays (cupy on "cuda") too."""
    def make():
        root, x, _ = _attention(seed=2)
        root.to(device)
        x = x.to(device)
        target = Tensor(np.ones((2, 4, 8)), dtype="float64", device=device)
        out = root.self_attn(x, x, x, ops.causal_mask(4, device=device))
        return root, ops.mse_loss(out, target)

    root_a, loss_a = make()
    loss_a.backward()
    root_b, loss_b = make()
    worst = 0.0
    for s in trace.backward_steps(loss_b):
        assert s.grad_output.device == device
        error = trace.check_step(s, max_elements=8)
        if error is not None:
            worst = max(worst, error)
    assert worst < 1e-5
    for (name, pa), (_, pb) in zip(root_a.named_parameters(), root_b.named_parameters()):
        np.testing.assert_array_equal(pa.grad.numpy(), pb.grad.numpy(), err_msg=name)
