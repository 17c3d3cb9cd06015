"""The backward walk: accumulation, deep graphs, retain_graph, create_graph, hooks, steps, gradcheck."""
import re

import numpy as np
import pytest

import ops
from autograd import Function, GradcheckError, Tensor, backward_steps, gradcheck, topological_order
from helpers import helper_test_op, wrong_square


def f64(a, device="cpu", requires_grad=True):
    return Tensor(a, requires_grad=requires_grad, dtype="float64", device=device)


# ---- accumulation -------------------------------------------------------------------------
def test_tensor_used_by_several_ops_accumulates(device, torch):
    helper_test_op([(3, 4)], lambda x: x * x + x.exp() * x + x - (x @ x.T).sum(0, keepdims=True).T,
                   lambda x: x * x + x.exp() * x + x - (x @ x.T).sum(0, keepdim=True).T, device)


def test_diamond_and_reused_intermediate(device, torch):
    def body(x, lib):
        h = lib.tanh(x)
        a, b = h * 2, h.exp()
        return a * b + h * a

    helper_test_op([(2, 5)], lambda x: body(x, ops), lambda x: body(x, torch), device)


def test_gradients_accumulate_across_backward_calls_until_reset(device):
    x = f64(np.array([1.0, -2.0, 3.0]), device)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, -2.0, 3.0]) + 3)
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 3.0])
    x.zero_grad()
    assert x.grad is None


def test_grad_of_same_tensor_twice_in_one_op(device):
    x = f64(np.array([2.0, 5.0]), device)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 10.0])


def test_backward_with_explicit_grad(device, torch):
    g = np.random.default_rng(0).standard_normal((2, 3))
    x = f64(np.arange(6.0).reshape(2, 3), device)
    y = x * x
    y.backward(g)
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.arange(6.0).reshape(2, 3) * g)
    x.grad = None
    (x * x).backward(Tensor(g, dtype="float64", device=device))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.arange(6.0).reshape(2, 3) * g)


def test_leaf_without_requires_grad_gets_no_grad(device):
    x, c = f64(np.ones(3), device), f64(np.ones(3), device, requires_grad=False)
    (x * c).sum().backward()
    assert c.grad is None and x.grad is not None


def test_unused_input_gets_no_grad(device):
    x, y = f64(np.ones(3), device), f64(np.ones(3), device)
    (x * 2).sum().backward()
    assert y.grad is None


# ---- deep graphs -----------------------------------------------------------------------------
def test_deep_chain_backward_is_iterative():
    n = 50_000
    x = f64(np.array([1.0, 2.0]))
    y = x
    for _ in range(n):
        y = y * 1.00001
    y.sum().backward()  # a recursive walk would raise RecursionError
    np.testing.assert_allclose(x.grad.numpy(), [1.00001**n] * 2, rtol=1e-9)


def test_topological_order_puts_inputs_first():
    x = f64(np.ones(2))
    a = x * 2
    b = a + x
    c = b * a
    order = topological_order(c)
    pos = {id(t): i for i, t in enumerate(order)}
    assert pos[id(x)] < pos[id(a)] < pos[id(b)] < pos[id(c)]
    assert len(order) == 4


# ---- retain_graph -------------------------------------------------------------------------------
def test_retain_graph_allows_a_second_backward(device):
    x = f64(np.array([1.0, 2.0, 3.0]), device)
    y = (x * x).exp().sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        y.backward()


@pytest.mark.parametrize("op", [lambda x: ops.layer_norm(x).sum(), lambda x: ops.layer_norm(x * 2, fused=True).exp().sum(),
                                lambda x: ops.cross_entropy(x, np.array([0, 2, 1]), label_smoothing=0.1)],
                         ids=["layer_norm", "layer_norm no affine", "cross_entropy"])
def test_ops_reusing_their_saved_arrays_give_the_same_gradient_when_retained(op, device):
    """A last backward may overwrite an op's own saved arrays; a retained one must not."""
    x = f64(np.random.default_rng(0).standard_normal((3, 4)), device)
    y = op(x)
    y.backward(retain_graph=True)  # keeps the saved arrays intact
    first = x.grad.numpy()
    x.grad = None
    y.backward()  # the last use: may work in place
    np.testing.assert_array_equal(x.grad.numpy(), first)


def test_layer_norm_output_survives_its_backward(device):
    """Without weight and bias the output must not share memory with the x_hat that backward reuses."""
    x = f64(np.random.default_rng(1).standard_normal((3, 4)), device)
    y = ops.layer_norm(x)
    before = y.numpy()
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.numpy(), before)


# ---- create_graph: second derivatives --------------------------------------------------------------
def _second_derivative_vs_torch(fn, tfn, x_np, device, torch):
    """Gradient-of-gradient: d/dx sum(v * dL/dx) with L = sum(w * f(x)), ours and torch's."""
    rng = np.random.default_rng(3)
    x = f64(x_np, device)
    out = fn(x)
    w, v = rng.standard_normal(out.shape), rng.standard_normal(x_np.shape)
    (out * Tensor(w, dtype="float64", device=device)).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.grad_fn is not None
    first = g.numpy()
    x.grad = None
    (g * Tensor(v, dtype="float64", device=device)).sum().backward()
    tx = torch.tensor(x_np, requires_grad=True)
    (tg,) = torch.autograd.grad((tfn(tx) * torch.from_numpy(w)).sum(), tx, create_graph=True)
    (th,) = torch.autograd.grad((tg * torch.from_numpy(v)).sum(), tx)
    np.testing.assert_allclose(first, tg.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), th.numpy(), rtol=1e-8, atol=1e-10)


def test_second_derivative_of_cube(device):
    x = f64(np.array([-1.5, 0.5, 2.0]), device)
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


SECOND_ORDER = {
    "cube": (lambda x: x**3, lambda x: x**3),
    "tanh": (lambda x: ops.tanh(x) * x, lambda x: x.tanh() * x),
    "softmax fused": (lambda x: ops.softmax(x * x, -1), lambda x: (x * x).softmax(-1)),
    "softmax composed": (lambda x: ops.softmax(ops.tanh(x) * 3, -1, fused=False), lambda x: (x.tanh() * 3).softmax(-1)),
    "log_softmax": (lambda x: ops.log_softmax(x * x, 0), lambda x: (x * x).log_softmax(0)),
    "layer_norm composed": (lambda x: ops.layer_norm(x * x, fused=False),
                            lambda x: __import__("torch").nn.functional.layer_norm(x * x, (4,))),
    "cross_entropy composed": (lambda x: ops.cross_entropy(x * x, np.array([0, 3, 1]), fused=False),
                               lambda x: __import__("torch").nn.functional.cross_entropy(x * x, __import__("torch").tensor([0, 3, 1]))),
    "matmul broadcast": (lambda x: (x.reshape(1, 3, 4) @ x.T).sum(1, keepdims=True).T[..., 0] * x,
                         lambda x: (x.reshape(1, 3, 4) @ x.T).sum(1, keepdim=True).permute(2, 1, 0)[..., 0] * x),
    "reductions": (lambda x: x.max(1) * x.var(0).sum() + x.mean(), lambda x: x.amax(1) * x.var(0, correction=0).sum() + x.mean()),
    "sigmoid div sqrt": (lambda x: ops.sigmoid(x) / (x * x + 1).sqrt(), lambda x: x.sigmoid() / (x * x + 1).sqrt()),
    # backwards that call functions (where, log, exp, broadcast_to, split, scatter) rather than operators
    "where masked_fill": (lambda x: ops.where(x > 0, x * x, ops.masked_fill(x.exp(), x < -1, 0.0)),
                          lambda x: __import__("torch").where(x > 0, x * x, x.exp().masked_fill(x < -1, 0.0))),
    "pow with number and tensor bases": (lambda x: ops.pow(2.0, x) * x + (x * x + 1) ** x,
                                         lambda x: __import__("torch").pow(2.0, x) * x + (x * x + 1) ** x),
    "concatenate getitem": (lambda x: ops.concatenate([x * x, x.exp()], axis=0)[[0, 2, 5, 5], 1:3],
                            lambda x: __import__("torch").cat([x * x, x.exp()], 0)[[0, 2, 5, 5], 1:3]),
    "broadcast_to": (lambda x: ops.broadcast_to((x * x).sum(0, keepdims=True), (2, 3, 4)) * x,
                     lambda x: (x * x).sum(0, keepdim=True).broadcast_to((2, 3, 4)) * x),
    "matmul with vectors": (lambda x: (x[0] @ x.T) * (x @ x[1]), lambda x: (x[0] @ x.T) * (x @ x[1])),
    "maximum abs clip": (lambda x: ops.maximum(x, x * x * 0.5).abs() * ops.clip(x, -1, 1) * x,
                         lambda x: __import__("torch").maximum(x, x * x * 0.5).abs() * x.clamp(-1, 1) * x),
}


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_derivatives_match_torch(name, device, torch):
    fn, tfn = SECOND_ORDER[name]
    x = np.random.default_rng(1).uniform(-1.5, 1.5, (3, 4))
    _second_derivative_vs_torch(fn, tfn, x, device, torch)


@pytest.mark.parametrize("op,call", [("layer_norm", lambda x: ops.layer_norm(x)),
                                     ("gelu", lambda x: ops.gelu(x)),
                                     ("cross_entropy", lambda x: ops.cross_entropy(x, np.array([0, 1])))])
def test_create_graph_through_once_differentiable_op_is_a_clear_error(op, call):
    x = f64(np.random.default_rng(0).standard_normal((2, 3)))
    with pytest.raises(RuntimeError, match=rf"create_graph.*'{op}'.*fused=False"):
        call(x).sum().backward(create_graph=True)


def test_without_create_graph_grad_is_not_recorded(device):
    x = f64(np.array([1.0, 2.0]), device)
    (x**3).sum().backward()
    assert not x.grad.requires_grad and x.grad.grad_fn is None


# ---- hooks and retain_grad ---------------------------------------------------------------------------
def test_hook_sees_the_gradient_and_can_replace_it(device):
    x = f64(np.array([1.0, 2.0, 3.0]), device)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy()))
    x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0, 6.0])
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 40.0, 60.0])


def test_hook_on_intermediate_changes_what_flows_on(device):
    x = f64(np.array([1.0, -1.0]), device)
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy()) or g * 0.5)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * 3 * x.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 0.5 * 2 * 3 * x.numpy() * 3)
    assert h.grad is None  # not retained


def test_hook_runs_once_with_the_summed_gradient(device):
    x = f64(np.array([1.0, 2.0]), device)
    h = x * 1.0
    calls = []
    h.register_hook(lambda g: calls.append(g.numpy()))
    (h * 2 + h * 3 + h).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [6.0, 6.0])


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="register_hook"):
        Tensor(np.ones(2)).register_hook(lambda g: g)


def test_retain_grad_keeps_intermediate_gradient(device, torch):
    x = f64(np.array([0.5, -1.0, 2.0]), device)
    h = x.tanh()
    h.retain_grad()
    (h * h * 2).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 4 * np.tanh([0.5, -1.0, 2.0]))
    tx = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (tx.tanh() * tx.tanh() * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


# ---- backward_steps -------------------------------------------------------------------------------------
def _model(device, seed=0):
    rng = np.random.default_rng(seed)
    x = f64(rng.standard_normal((4, 5)), device, requires_grad=False)
    w1, b1 = f64(rng.standard_normal((5, 6)), device), f64(rng.standard_normal(6), device)
    w2 = f64(rng.standard_normal((6, 3)), device)
    g, b = f64(np.ones(6), device), f64(np.zeros(6), device)
    h = ops.layer_norm(ops.gelu(x @ w1 + b1), g, b)
    h = ops.softmax(h, -1, fused=False) * h + h
    loss = ops.cross_entropy(h @ w2, np.array([0, 2, 1, 2]), label_smoothing=0.1)
    return loss, (w1, b1, w2, g, b)


def test_backward_steps_consumed_fully_equals_backward(device):
    loss, params = _model(device)
    loss.backward()
    expected = [p.grad.numpy() for p in params]

    loss, params = _model(device)
    steps = list(backward_steps(loss))
    for p, e in zip(params, expected):
        np.testing.assert_array_equal(p.grad.numpy(), e)
    assert len(steps) == len(topological_order(loss))
    assert steps[0].tensor is loss and steps[0].ctx.name == "cross_entropy"
    leaf_steps = [s for s in steps if s.ctx is None]
    assert {id(s.tensor) for s in leaf_steps} == {id(p) for p in params}


def test_backward_steps_are_lazy(device):
    loss, params = _model(device)
    steps = backward_steps(loss)
    next(steps)
    assert all(p.grad is None for p in params)  # nothing reached the leaves yet
    for _ in steps:
        pass
    assert all(p.grad is not None for p in params)


def test_backward_steps_record_gradients(device):
    x = f64(np.array([1.0, 2.0]), device)
    y = x * 3
    loss = y.sum()
    steps = list(backward_steps(loss))
    mul_step = next(s for s in steps if s.ctx is not None and s.ctx.name == "mul")
    np.testing.assert_array_equal(mul_step.grad_output.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(mul_step.grad_inputs[0].numpy(), [3.0, 3.0])
    assert mul_step.grad_inputs[1] is None


# ---- gradcheck ---------------------------------------------------------------------------------------------
WrongSquare = wrong_square(1.0)  # x * x with a backward missing the factor 2


def test_gradcheck_passes_for_correct_ops(device):
    xs = [f64(np.random.default_rng(i).standard_normal((2, 3)), device) for i in range(2)]
    assert gradcheck(lambda a, b: (a * b.exp(), a @ b.T), xs) is True


def test_gradcheck_names_input_index_and_values_for_a_wrong_gradient(device):
    a_np = np.random.default_rng(0).uniform(0.5, 2.0, (2, 3))
    a, b = f64(a_np, device), f64(np.ones((2, 3)), device)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: a * 2 + WrongSquare.apply(b), [a, b])
    message = str(info.value)
    m = re.search(r"input (\d+) \(shape \(2, 3\)\).*index \((\d+), (\d+)\): analytic ([-\d.e+]+), numeric ([-\d.e+]+)", message)
    assert m, message
    assert m.group(1) == "1"  # input 0 is fine, input 1 is wrong
    # the reported numeric value is the true gradient, the analytic value is half of it
    analytic, numeric = float(m.group(4)), float(m.group(5))
    assert analytic == pytest.approx(numeric / 2, rel=1e-4)
    assert numeric != pytest.approx(0.0)


def test_gradcheck_without_grad_inputs_is_an_error():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x * 2, [Tensor(np.ones(2))])


# ---- backward on arrays or on Tensors ----------------------------------------------------------------
def _exp_function(tensor_backward):
    class TensorStyleExp(Function):
        """exp with a backward that calls a Tensor-only method (`.exp()`)."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return ctx.xp.exp(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x.exp()

    TensorStyleExp.tensor_backward = tensor_backward
    return TensorStyleExp


def test_a_backward_gets_arrays_and_a_tensor_only_method_is_named_in_the_error(device):
    x = f64(np.array([0.5, -1.0]), device)
    with pytest.raises(AttributeError, match=r"tensorstyleexp.*arrays.*tensor_backward = True"):
        _exp_function(False).apply(x).sum().backward()


def test_tensor_backward_hands_tensors_and_records_nothing(device):
    x = f64(np.array([0.5, -1.0]), device)
    _exp_function(True).apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, -1.0]))
    assert x.grad.grad_fn is None and not x.grad.requires_grad
    x.grad = None
    (_exp_function(True).apply(x) * x).sum().backward(create_graph=True)  # and still differentiates twice
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, -1.0]) * (2 + np.array([0.5, -1.0])))


# ---- corner cases of array backward ------------------------------------------------------------------
def test_zero_dimensional_gradients_stay_arrays(device):
    x = Tensor(np.float32(1.5), requires_grad=True, device=device)
    (x * 2 + x * 3).backward()  # two paths summed: NumPy would make the sum a scalar
    assert isinstance(x.grad.data, type(x.data)) and x.grad.data.shape == ()
    np.testing.assert_allclose((x.grad * 2).numpy(), 10.0)
    w = Tensor(np.ones(3), requires_grad=True, device=device)
    s = (w * w).sum()
    s.register_hook(lambda g: g * 2)
    (s * s).backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * (2 * 3.0) * 2 * np.ones(3))


def test_second_derivative_through_a_zero_dimensional_op(device):
    x = f64(np.array(0.3), device)
    ops.exp(x).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(0.3))


def test_a_tensor_and_its_detached_twin_stay_apart_in_a_recorded_backward(device):
    """x * x.detach(): the second factor is a constant, so d(grad)/dx is 0, not 1."""
    x = f64(np.array([0.5, 2.0]), device)
    (x * x.detach()).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 2.0])
    assert not x.grad.requires_grad  # a constant times the incoming 1s: nothing to differentiate


def test_an_error_inside_backward_keeps_its_type():
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return np.multiply(grad, 2.0, out=np.zeros(grad.shape, dtype=np.int64))  # a ufunc casting error

    x = f64(np.ones(2))
    with pytest.raises(TypeError):
        Broken.apply(x).sum().backward()


def test_matmul_backward_with_an_empty_inner_axis(device):
    for sa, sb in [((3, 0), (0, 4)), ((2, 3, 0), (0, 4))]:
        a = f64(np.zeros(sa), device)
        b = f64(np.zeros(sb), device)
        (a @ b).sum().backward()
        assert a.grad.shape == sa and b.grad.shape == sb
        assert not a.grad.numpy().any() and not b.grad.numpy().any()


def test_summing_many_uses_in_place_leaves_every_recorded_gradient_intact(device):
    """A tensor used five times: its gradient is summed in place from the third use on,
    into the engine's own array, never into an array an op returned or a step recorded."""
    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True, dtype="float64", device=device)
    h = x * 2.0  # h is used five times below; each Add sends the same array to both inputs
    y = (h + h) * (h + h) + h
    records = []
    for step in backward_steps(y.sum()):
        records.append([(g, g.numpy().copy()) for g in step.grad_inputs if g is not None])
    for sent in records:
        for g, value_then in sent:
            np.testing.assert_array_equal(g.numpy(), value_then)  # not changed by a later step
    # y = 4h^2 + h, so dy/dx = (8h + 1) * 2
    np.testing.assert_allclose(x.grad.numpy(), (16.0 * x.numpy() + 1.0) * 2.0)


def test_a_backward_that_returns_a_plain_array_under_create_graph_leaves_a_tensor_in_grad():
    """A backward may return a backend array; recorded, it is a constant, and .grad is still a Tensor."""
    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            return np.full(grad.shape, 2.0)  # a NumPy array, whatever grad's type

    x = Tensor([1.0, 3.0], requires_grad=True, dtype="float64")
    Twice.apply(x).sum().backward(create_graph=True)
    assert isinstance(x.grad, Tensor)
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
