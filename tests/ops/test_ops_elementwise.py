"""Elementwise ops, activations, comparisons and `where`: NumPy, torch, gradcheck, hypothesis."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ops
from autograd import Tensor
from helpers import check_gradcheck, check_numpy_forward, helper_test_op

BROADCAST_PAIRS = [
    ((3, 4), (3, 4)),
    ((2, 3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 1, 4), (3, 1)),
    ((), (2, 3)),
    ((2, 3), ()),
]

_erf = np.vectorize(math.erf)

# name: (our function, NumPy function, torch function name, input range)
BINARY = {
    "add": (ops.add, np.add, "add", (-2, 2), (-2, 2)),
    "sub": (ops.sub, np.subtract, "sub", (-2, 2), (-2, 2)),
    "mul": (ops.mul, np.multiply, "mul", (-2, 2), (-2, 2)),
    "div": (ops.div, np.divide, "div", (-2, 2), (0.5, 2)),
    "pow": (ops.pow, np.power, "pow", (0.5, 2), (-2, 2)),
    "maximum": (ops.maximum, np.maximum, "maximum", (-2, 2), (-2, 2)),
    "minimum": (ops.minimum, np.minimum, "minimum", (-2, 2), (-2, 2)),
}

UNARY = {
    "neg": (ops.neg, np.negative, lambda t, x: -x, (-2, 2)),
    "exp": (ops.exp, np.exp, lambda t, x: t.exp(x), (-2, 2)),
    "log": (ops.log, np.log, lambda t, x: t.log(x), (0.1, 3)),
    "sqrt": (ops.sqrt, np.sqrt, lambda t, x: t.sqrt(x), (0.1, 3)),
    "abs": (ops.abs, np.abs, lambda t, x: t.abs(x), (-2, 2)),
    "tanh": (ops.tanh, np.tanh, lambda t, x: t.tanh(x), (-3, 3)),
    "sigmoid": (ops.sigmoid, lambda x: 1 / (1 + np.exp(-x)), lambda t, x: t.sigmoid(x), (-6, 6)),
    "relu": (ops.relu, lambda x: np.maximum(x, 0), lambda t, x: t.relu(x), (-2, 2)),
    "gelu": (ops.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
             lambda t, x: t.nn.functional.gelu(x), (-3, 3)),
    "gelu_tanh": (
        lambda x: ops.gelu(x, approximate="tanh"),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
        lambda t, x: t.nn.functional.gelu(x, approximate="tanh"),
        (-3, 3),
    ),
}


# ---- binary ops -------------------------------------------------------------
@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_numpy_forward(name, shapes, device):
    fn, np_fn, _, ra, rb = BINARY[name]
    check_numpy_forward(shapes, fn, np_fn, device, low=[ra[0], rb[0]], high=[ra[1], rb[1]])


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_torch_parity(name, shapes, device, torch):
    fn, _, tname, ra, rb = BINARY[name]
    helper_test_op(shapes, fn, getattr(torch, tname), device, low=[ra[0], rb[0]], high=[ra[1], rb[1]])


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_gradcheck(name, shapes, device):
    fn, _, _, ra, rb = BINARY[name]
    check_gradcheck(shapes, fn, device, low=[ra[0], rb[0]], high=[ra[1], rb[1]])


@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    name=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**16),
)
def test_binary_hypothesis(shapes, name, seed, device):
    fn, np_fn, _, ra, rb = BINARY[name]
    low, high = [ra[0], rb[0]], [ra[1], rb[1]]
    out = check_numpy_forward(shapes.input_shapes, fn, np_fn, device, low=low, high=high, seed=seed)[0]
    assert out.shape == shapes.result_shape
    check_gradcheck(shapes.input_shapes, fn, device, low=low, high=high, seed=seed)


def test_binary_with_python_scalars_and_numpy_arrays(device, torch):
    # reflected operators and constants mixed in: only the Tensor gets a gradient
    c = np.linspace(0.5, 1.5, 4)
    helper_test_op(
        [(3, 4)],
        lambda x: (2.0 - x) * 3 + x / 2.0 - 1.5 / (x + 3) + x**2 + 2.0**x + x * c - c / (x + 4) + (-x),
        lambda x: (2.0 - x) * 3 + x / 2.0 - 1.5 / (x + 3) + x**2 + 2.0**x + x * torch.tensor(c) - torch.tensor(c) / (x + 4) + (-x),
        device,
    )


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.0, 1.7])
def test_pow_scalar_exponent(exponent, device, torch):
    low = 0.2 if not float(exponent).is_integer() or exponent < 0 else -2
    helper_test_op([(3, 4)], lambda x: x**exponent, lambda x: x**exponent, device, low=low)


def test_pow_tensor_exponent_gradient_at_zero_base(device, torch):
    # d(a^b)/db = a^b log a is taken as 0 at a == 0, as in torch
    a = np.array([0.0, 0.5, 2.0, 0.0])
    b = np.array([2.0, 1.5, -1.0, 3.0])
    helper_test_op([a, b], ops.pow, torch.pow, device)


def _grad_and_second(fn, x, device):
    """(d/dx sum f(x), d/dx sum d/dx f(x)) at the array x, in float64, through create_graph."""
    t = Tensor(x, dtype=np.float64, requires_grad=True, device=device)
    fn(t).sum().backward(create_graph=True)
    first = t.grad
    t.grad = None
    if first.requires_grad:
        first.sum().backward()
    second = t.grad.numpy() if t.grad is not None else np.zeros_like(x)
    return first.numpy(), second


@pytest.mark.parametrize("exponent", [0, 0.0, 1, 2, 3, 0.5, -1, -2.0])
def test_pow_edges_first_and_second_derivative_match_torch(exponent, device, torch):
    # x ** 0 is constant (gradient 0, even at x == 0), the second derivative of x ** 1 at 0 is 0,
    # x ** 0.5 at 0 is inf, negative bases with integer exponents are fine: all as in torch
    x = np.array([0.0, -2.0, -0.5, 1.5, 3.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        first, second = _grad_and_second(lambda t: t**exponent, x, device)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad((tx**exponent).sum(), tx, create_graph=True)
    (g2,) = torch.autograd.grad(g.sum(), tx, allow_unused=True) if g.requires_grad else (None,)
    np.testing.assert_array_equal(np.isnan(first), np.isnan(g.detach().numpy()))
    np.testing.assert_allclose(first, g.detach().numpy(), rtol=1e-12)
    expected_second = np.zeros_like(x) if g2 is None else g2.numpy()
    np.testing.assert_allclose(second, expected_second, rtol=1e-12)


def test_pow_zero_exponent_gradient_is_zero_everywhere(device):
    x = Tensor([0.0, -3.0, 2.0, 0.0], requires_grad=True, device=device)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)
    assert not np.signbit(x.grad.numpy()).any()


def test_pow_tensor_exponent_edges_match_torch(device, torch):
    # zero base with zero, negative and positive exponents, and a negative base (NaN d/db, as torch)
    a = np.array([0.0, 0.0, 0.0, -2.0, -2.0, 2.0])
    b = np.array([0.0, -1.0, 2.0, 2.0, 3.0, 0.5])
    ours = [Tensor(v, dtype=np.float64, requires_grad=True, device=device) for v in (a, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
    with np.errstate(divide="ignore", invalid="ignore"):
        (ours[0] ** ours[1]).sum().backward()
    (theirs[0] ** theirs[1]).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("base", [0.0, 2.0, -2.0])
def test_pow_number_base_exponent_gradient_matches_torch(base, device, torch):
    b = np.array([0.0, -1.0, 2.0, 0.5])
    ours = Tensor(b, dtype=np.float64, requires_grad=True, device=device)
    theirs = torch.tensor(b, requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        (base**ours).sum().backward()
    (base**theirs).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)


def test_rpow_scalar_base(device, torch):
    helper_test_op([(2, 3)], lambda x: 3.0**x, lambda x: 3.0**x, device)


@pytest.mark.parametrize("pair", [("maximum", [1.0, 2.0, 3.0, -1.0], [1.0, 0.0, 3.0, -1.0]),
                                  ("minimum", [1.0, 2.0, 3.0, 5.0], [1.0, 4.0, 3.0, 5.0])])
def test_maximum_minimum_ties_share_gradient(pair, device, torch):
    name, a, b = pair
    helper_test_op([np.array(a), np.array(b)], getattr(ops, name), getattr(torch, name), device)


def test_maximum_with_scalar(device, torch):
    helper_test_op([(3, 3)], lambda x: ops.maximum(x, 0.3), lambda x: torch.clamp(x, min=0.3), device)


# ---- unary ops and activations -------------------------------------------------
UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 4)]


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
def test_unary_numpy_forward(name, shape, device):
    fn, np_fn, _, (lo, hi) = UNARY[name]
    check_numpy_forward([shape], fn, np_fn, device, low=lo, high=hi, atol=1e-12)


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
def test_unary_torch_parity(name, shape, device, torch):
    fn, _, tfn, (lo, hi) = UNARY[name]
    helper_test_op([shape], fn, lambda x: tfn(torch, x), device, low=lo, high=hi)


@pytest.mark.parametrize("name", UNARY)
def test_unary_gradcheck(name, device):
    fn, _, _, (lo, hi) = UNARY[name]
    check_gradcheck([(3, 4)], fn, device, low=lo, high=hi)


@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4),
       name=st.sampled_from(sorted(UNARY)), seed=st.integers(0, 2**16))
def test_unary_hypothesis(shape, name, seed, device):
    fn, np_fn, _, (lo, hi) = UNARY[name]
    check_numpy_forward([shape], fn, np_fn, device, low=lo, high=hi, seed=seed, atol=1e-12)
    check_gradcheck([shape], fn, device, low=lo, high=hi, seed=seed)


@pytest.mark.parametrize("name", ["relu", "abs"])
def test_kinks_have_zero_gradient_at_zero_like_torch(name, device, torch):
    x = np.array([-1.0, 0.0, 2.0, 0.0])
    helper_test_op([x], getattr(ops, name), getattr(torch, name), device)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_parity_wide_range(approximate, device, torch):
    x = np.linspace(-8, 8, 41)
    helper_test_op([x], lambda t: ops.gelu(t, approximate=approximate),
                   lambda t: torch.nn.functional.gelu(t, approximate=approximate), device)


def test_gelu_float32_keeps_dtype(device):
    x = Tensor(np.linspace(-3, 3, 7), requires_grad=True, device=device)
    for approximate in ("none", "tanh"):
        x.grad = None
        y = ops.gelu(x, approximate=approximate)
        y.sum().backward()
        assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu.*approximate"):
        ops.gelu(Tensor([1.0]), approximate="fast")


def test_sigmoid_does_not_overflow(device, torch):
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    outs = helper_test_op([x], ops.sigmoid, torch.sigmoid, device)[0]
    assert np.isfinite(outs[0].numpy()).all()


def test_tensor_method_sugar(device, torch):
    helper_test_op(
        [(3, 4)],
        lambda x: x.exp() + (x * x + 1).log() + (x * x + 1).sqrt() + x.abs() + x.tanh()
        + x.sigmoid() + x.relu() + abs(x),
        lambda x: x.exp() + (x * x + 1).log() + (x * x + 1).sqrt() + x.abs() + x.tanh()
        + x.sigmoid() + x.relu() + abs(x),
        device,
    )


# ---- clip ----------------------------------------------------------------------
@pytest.mark.parametrize("bounds", [(-0.5, 0.7), (-0.5, None), (None, 0.7)], ids=str)
def test_clip(bounds, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    lo, hi = bounds
    check_numpy_forward([(4, 5)], lambda x: x.clip(lo, hi), lambda x: np.clip(x, lo, hi), device)
    check_gradcheck([(4, 5)], lambda x: ops.clip(x, lo, hi), device)
    helper_test_op([(4, 5)], lambda x: ops.clip(x, lo, hi), lambda x: torch.clamp(x, lo, hi), device)


def test_clip_gradient_passes_at_the_bounds_like_torch(device, torch):
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    helper_test_op([x], lambda t: ops.clip(t, -1.0, 1.0), lambda t: torch.clamp(t, -1.0, 1.0), device)


# ---- where and comparisons --------------------------------------------------------
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,)), ((2, 3, 4), (), (3, 4))], ids=str)
def test_where(shapes, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    cond = np.random.default_rng(5).random(shapes[0]) > 0.5
    check_numpy_forward([cond, shapes[1], shapes[2]], ops.where, np.where, device)
    check_gradcheck([cond, shapes[1], shapes[2]], ops.where, device)
    helper_test_op([cond, shapes[1], shapes[2]], ops.where, lambda c, a, b: torch.where(c, a, b), device)


COMPARISONS = {
    "equal": np.equal, "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
    "greater": np.greater, "greater_equal": np.greater_equal,
}


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparisons_are_boolean_and_not_differentiable(name, device):
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.array([2.0, 2.0, 7.0])
    x = Tensor(a, requires_grad=True, device=device)
    out = getattr(ops, name)(x, Tensor(b, device=device))
    assert out.dtype == np.bool_ and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), COMPARISONS[name](a.astype(np.float32), b.astype(np.float32)))


def test_comparison_operators_and_logic(device):
    a = np.array([1.0, 2.0, 3.0, 4.0])
    x = Tensor(a, device=device)
    np.testing.assert_array_equal((x == 2.0).numpy(), a == 2)
    np.testing.assert_array_equal((x != 2.0).numpy(), a != 2)
    np.testing.assert_array_equal((x < 3).numpy(), a < 3)
    np.testing.assert_array_equal((x <= 3).numpy(), a <= 3)
    np.testing.assert_array_equal((x > 2).numpy(), a > 2)
    np.testing.assert_array_equal((x >= 2).numpy(), a >= 2)
    np.testing.assert_array_equal(((x > 1) & (x < 4)).numpy(), (a > 1) & (a < 4))
    np.testing.assert_array_equal(((x < 2) | (x > 3)).numpy(), (a < 2) | (a > 3))
    np.testing.assert_array_equal((~(x > 2)).numpy(), ~(a > 2))


def test_mixed_float64_numpy_array_does_not_promote_float32(device):
    x = Tensor(np.ones((2, 3)), requires_grad=True, device=device)
    y = x * np.full((2, 3), 2.0, dtype=np.float64) + np.float64(1.0)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 2.0))
