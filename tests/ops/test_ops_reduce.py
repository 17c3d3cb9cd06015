"""Reductions sum, mean, var, max, min: NumPy, torch, gradcheck, ties, hypothesis."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ops
from autograd import Tensor
from helpers import check_gradcheck, check_numpy_forward, helper_test_op

REDUCTIONS = ["sum", "mean", "var", "max", "min"]
CASES = [
    ((3, 4), None),
    ((3, 4), 0),
    ((3, 4), 1),
    ((3, 4), -1),
    ((2, 3, 4), (0, 2)),
    ((2, 3, 4), (-1, 1)),
    ((2, 3, 4), (0, 1, 2)),
    ((5,), 0),
]


def torch_reduce(torch, name, x, axis, keepdims, ddof=0):
    """The torch twin of our reduction (amax/amin share the gradient among ties, as ours)."""
    dims = tuple(range(x.ndim)) if axis is None else axis
    if name == "var":
        return torch.var(x, dim=dims, correction=ddof, keepdim=keepdims)
    fn = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}[name]
    return fn(x, dim=dims, keepdim=keepdims)


def ours(name, x, axis, keepdims):
    return getattr(ops, name)(x, axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape,axis", CASES, ids=str)
def test_reduce_numpy_forward(name, keepdims, shape, axis, device):
    check_numpy_forward([shape], lambda x: ours(name, x, axis, keepdims),
                        lambda x: getattr(np, name)(x, axis=axis, keepdims=keepdims), device)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape,axis", CASES, ids=str)
def test_reduce_torch_parity(name, keepdims, shape, axis, device, torch):
    helper_test_op([shape], lambda x: ours(name, x, axis, keepdims),
                   lambda x: torch_reduce(torch, name, x, axis, keepdims), device)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape,axis", [((3, 4), None), ((2, 3, 4), (0, 2)), ((2, 3, 4), -1)], ids=str)
def test_reduce_gradcheck(name, keepdims, shape, axis, device):
    check_gradcheck([shape], lambda x: ours(name, x, axis, keepdims), device)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduce_as_tensor_methods(name, device, torch):
    helper_test_op([(3, 4)], lambda x: getattr(x, name)(axis=1, keepdims=True) * getattr(x, name)(),
                   lambda x: torch_reduce(torch, name, x, 1, True) * torch_reduce(torch, name, x, None, False),
                   device)


@pytest.mark.parametrize("ddof", [0, 1])
def test_var_ddof(ddof, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    check_numpy_forward([(4, 5)], lambda x: x.var(axis=0, ddof=ddof), lambda x: x.var(axis=0, ddof=ddof), device)
    check_gradcheck([(4, 5)], lambda x: ops.var(x, axis=0, ddof=ddof), device)
    helper_test_op([(4, 5)], lambda x: ops.var(x, axis=0, ddof=ddof),
                   lambda x: torch_reduce(torch, "var", x, 0, False, ddof), device)


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)], ids=str)
def test_max_min_ties_share_gradient_like_torch_amax(name, axis, device, torch):
    x = np.array([[1.0, 3.0, 3.0, -2.0], [-2.0, 0.0, 3.0, -2.0], [1.0, 1.0, 1.0, 1.0]])
    helper_test_op([x], lambda t: ours(name, t, axis, False),
                   lambda t: torch_reduce(torch, name, t, axis, False), device)


def test_reduce_of_a_scalar_tensor(device, torch):
    for name in ("sum", "mean", "max", "min"):
        helper_test_op([()], lambda x: ours(name, x, None, False),
                       lambda x: torch_reduce(torch, name, x, None, False), device)


def test_sum_of_boolean_counts(device):
    mask = Tensor(np.array([[True, False, True], [True, True, True]]), device=device)
    np.testing.assert_array_equal(mask.sum(axis=1).numpy(), [2, 3])
    assert mask.sum().item() == 5


def test_reduce_axis_out_of_range():
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        ops.sum(Tensor(np.ones((2, 3))), axis=2)


@st.composite
def shape_and_axis(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-len(shape), len(shape) - 1))
    else:
        axis = tuple(draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True)))
    return shape, axis


@given(case=shape_and_axis(), name=st.sampled_from(REDUCTIONS), keepdims=st.booleans(), seed=st.integers(0, 2**16))
def test_reduce_hypothesis(case, name, keepdims, seed, device):
    shape, axis = case
    fn = lambda x: ours(name, x, axis, keepdims)  # noqa: E731
    check_numpy_forward([shape], fn, lambda x: getattr(np, name)(x, axis=axis, keepdims=keepdims), device, seed=seed)
    check_gradcheck([shape], fn, device, seed=seed)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [0, -1, None])
def test_reduce_a_zero_dimensional_tensor_as_torch(name, axis, device, torch):
    # a 0-d tensor takes axis 0 or -1, as in torch, and reduces nothing
    if name == "var":
        pytest.skip("the variance of one value divides by zero")
    x = Tensor(2.5, requires_grad=True, device=device)
    out = getattr(x, name)(axis=axis)
    out.backward()
    tx = torch.tensor(2.5, requires_grad=True)
    tout = torch_reduce(torch, name, tx, axis if axis is None else (axis,), False)
    tout.backward()
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
