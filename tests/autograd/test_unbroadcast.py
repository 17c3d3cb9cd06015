"""Unbroadcasting (the engine's `sum_to_array`): every path against a plain reference.

A gradient that arrives in the broadcast shape is summed back to the input's
shape. Leading axes only (a bias's gradient) of at least
`fit.SUM_TO_GEMV_MIN_SIZE` elements take a matrix-vector product; everything
else a NumPy sum. Each is checked against an independent reference (every
element added into the input element it was broadcast from), with the
threshold as it is, lowered so that small shapes take the fast path, and at
real sizes on both sides of it; and through the engine against PyTorch.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Tensor, fit

REAL = fit.SUM_TO_GEMV_MIN_SIZE


def reference_sum_to(grad, shape):
    """Add each element of `grad` into the element of `shape` that broadcasting copied it from."""
    owner = np.broadcast_to(np.arange(math.prod(shape)).reshape(shape), grad.shape)
    return np.bincount(owner.ravel(), weights=grad.ravel(), minlength=math.prod(shape)).reshape(shape)


@st.composite
def broadcasts(draw, max_side=5):
    """(input shape, broadcast shape): leading axes added, size-1 axes stretched or kept."""
    shape = tuple(draw(st.lists(st.integers(1, max_side), min_size=0, max_size=3)))
    shape = tuple(1 if draw(st.booleans()) else n for n in shape)  # plenty of size-1 axes
    lead = tuple(draw(st.lists(st.integers(1, max_side), min_size=0, max_size=2)))
    stretched = tuple(draw(st.integers(1, max_side)) if n == 1 else n for n in shape)
    return shape, lead + stretched


@pytest.mark.parametrize("threshold", [REAL, 1], ids=["real threshold", "every size on the fast path"])
@given(case=broadcasts(), dtype=st.sampled_from([np.float64, np.float32]))
def test_sum_to_matches_the_reference(case, dtype, threshold, monkeypatch):
    monkeypatch.setattr(fit, "SUM_TO_GEMV_MIN_SIZE", threshold)
    shape, big = case
    grad = np.random.default_rng(len(big)).standard_normal(big).astype(dtype)
    got = fit.sum_to_array(grad, shape)
    assert got.shape == shape and got.dtype == dtype
    # a float32 sum of many terms that nearly cancel is only as exact as its terms: an absolute tolerance too
    tolerance = dict(rtol=1e-5, atol=1e-6 * grad.size ** 0.5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, reference_sum_to(grad, shape), **tolerance)


# (input shape, broadcast shape) at real sizes: the matrix-vector path, just below it, stretched
# axes of >= 4096 elements (never that path), and size-1 leading axes
REAL_SIZES = [
    ((128,), (64, 128)),                 # a bias: 8192 elements, the matrix-vector path
    ((REAL,), (1, REAL)),                # exactly the threshold, one row
    ((REAL - 1,), (1, REAL - 1)),        # just below it
    ((16, 128), (4, 16, 128)),           # leading axis over a 2-D input
    ((64, 1), (64, 128)),                # a stretched axis, no leading one
    ((64, 1), (2, 64, 128)),             # stretched and leading: a NumPy sum over both
    ((1, 128), (2, 64, 128)),            # size-1 leading axis of the input, stretched
    ((1,), (1, REAL)),                   # (1, n) summed to (1,)
    ((1,), (1, 2)),
    ((1, 2), (1, 1, 2)),
    ((1, 1), (REAL, 2)),
]


@pytest.mark.parametrize("shape,big", REAL_SIZES, ids=str)
def test_sum_to_at_real_sizes(shape, big):
    grad = np.random.default_rng(0).standard_normal(big).astype(np.float32)
    got = fit.sum_to_array(grad, shape)
    assert got.shape == shape
    np.testing.assert_allclose(got, reference_sum_to(grad.astype(np.float64), shape), rtol=2e-5, atol=1e-4)


def test_the_fast_path_is_taken_only_where_it_applies(monkeypatch):
    """The matrix-vector product runs for leading axes of at least the threshold, and never for stretched axes."""
    calls = []

    class Recorder(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            calls.append(ufunc.__name__)
            return getattr(ufunc, method)(*(np.asarray(i) for i in inputs), **kwargs)

    def sum_to(shape, big):
        calls.clear()
        fit.sum_to_array(np.ones(big).view(Recorder), shape)
        return "matmul" in calls

    assert sum_to((128,), (64, 128))
    assert not sum_to((REAL - 1,), (1, REAL - 1))
    assert not sum_to((64, 1), (2, 64, 128))
    monkeypatch.setattr(fit, "SUM_TO_GEMV_MIN_SIZE", 2)
    assert sum_to((2,), (3, 2))


@pytest.mark.parametrize("shape_a,shape_b", [((1, 2), (1,)), ((1,), (1, 2)), ((64, 128), (128,)), ((2, 64, 128), (64, 1)),
                                             ((1, REAL), (1,)), ((3, 1, 5), (1, 4, 1))], ids=str)
@pytest.mark.parametrize("create_graph", [False, True])
def test_gradients_of_a_broadcast_sum_match_torch(shape_a, shape_b, create_graph, torch):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    w = rng.standard_normal(np.broadcast_shapes(shape_a, shape_b))
    ours = [Tensor(x, requires_grad=True, dtype="float64") for x in (a, b)]
    ((ours[0] * ours[1] + ours[1]) * Tensor(w, dtype="float64")).sum().backward(create_graph=create_graph)
    theirs = [torch.tensor(x, requires_grad=True) for x in (a, b)]
    ((theirs[0] * theirs[1] + theirs[1]) * torch.tensor(w)).sum().backward()
    for o, t in zip(ours, theirs):
        assert o.grad.shape == tuple(t.shape)
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)
