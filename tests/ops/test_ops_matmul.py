"""matmul: every numpy.matmul case (2-D, batched, broadcasting batch, 1-D), NumPy, torch, gradcheck."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ops
from autograd import Tensor
from helpers import check_gradcheck, check_numpy_forward, helper_test_op

CASES = [
    ((3, 4), (4, 5)),          # 2-D
    ((1, 4), (4, 1)),
    ((2, 3, 4), (2, 4, 5)),    # batched
    ((2, 3, 4), (4, 5)),       # batch on one side
    ((5, 4), (2, 4, 3)),
    ((2, 1, 3, 4), (3, 4, 2)),  # broadcasting batch axes
    ((2, 1, 3, 4), (1, 5, 4, 2)),
    ((4,), (4,)),              # 1-D cases
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("a,b", CASES, ids=str)
def test_matmul_numpy_forward(a, b, device):
    check_numpy_forward([a, b], ops.matmul, np.matmul, device)


@pytest.mark.parametrize("a,b", CASES, ids=str)
def test_matmul_torch_parity(a, b, device, torch):
    helper_test_op([a, b], lambda x, y: x @ y, torch.matmul, device)


@pytest.mark.parametrize("a,b", CASES, ids=str)
def test_matmul_gradcheck(a, b, device):
    check_gradcheck([a, b], ops.matmul, device)


@pytest.mark.parametrize("flags", [(True, False), (False, True)], ids=str)
def test_matmul_gradient_to_one_side_only(flags, device, torch):
    helper_test_op([(2, 3, 4), (4, 5)], ops.matmul, torch.matmul, device, requires_grad=flags)


def test_rmatmul_with_numpy_on_the_left(device, torch):
    w = np.random.default_rng(3).standard_normal((2, 3))
    helper_test_op([(3, 4)], lambda x: w @ x, lambda x: torch.from_numpy(w) @ x, device)


def test_matmul_float32(device, torch):
    helper_test_op([(8, 16), (16, 4)], ops.matmul, torch.matmul, device, dtype=np.float32, atol=1e-5, rtol=1e-4)


@given(batch_a=st.lists(st.integers(1, 3), max_size=2), batch_b=st.lists(st.integers(1, 3), max_size=2),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3), one_d=st.sampled_from(["", "a", "b", "ab"]),
       seed=st.integers(0, 2**16))
def test_matmul_hypothesis(batch_a, batch_b, n, k, m, one_d, seed, device):
    # make the batch axes broadcastable by replacing mismatches with 1
    size = max(len(batch_a), len(batch_b))
    pa, pb = [1] * (size - len(batch_a)) + batch_a, [1] * (size - len(batch_b)) + batch_b
    batch_b = [y if x == y or x == 1 else 1 for x, y in zip(pa, pb)][size - len(batch_b):]
    a = (k,) if "a" in one_d else tuple(batch_a) + (n, k)
    b = (k,) if "b" in one_d else tuple(batch_b) + (k, m)
    check_numpy_forward([a, b], ops.matmul, np.matmul, device, seed=seed)
    check_gradcheck([a, b], ops.matmul, device, seed=seed)


@pytest.mark.parametrize("a,b", [((3, 4), (5, 6)), ((4,), (5,)), ((2, 3), (4,)), ((2, 3, 4), (3, 4, 2))], ids=str)
def test_matmul_mismatch_names_op_and_shapes(a, b, device):
    x, y = Tensor(np.ones(a), device=device), Tensor(np.ones(b), device=device)
    with pytest.raises(ValueError, match=rf"matmul.*{_re(a)}.*{_re(b)}"):
        x @ y


def test_matmul_of_a_scalar_is_an_error():
    with pytest.raises(ValueError, match=r"matmul.*\(\)"):
        ops.matmul(Tensor(2.0), Tensor(np.ones(3)))


def _re(shape):
    return str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")
