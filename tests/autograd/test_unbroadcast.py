"""Unbroadcasting (the engine's `unbroadcast`, and the fast row sum of a bias's gradient) against a plain reference.

A gradient that arrives in the broadcast shape is summed back to the input's
shape, once, in the engine. The fast form of `linear` sums a bias's gradient
over its rows as a matrix-vector product from `ROW_SUM_GEMV_MIN_SIZE`
elements up. Each is checked against an independent reference (every element
added into the input element it was broadcast from), and through the engine
against PyTorch.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Tensor
from autograd.core import unbroadcast
from ops.fast import blas_linear

REAL = blas_linear.ROW_SUM_GEMV_MIN_SIZE


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


def _tolerance(grad):
    # a float32 sum of many terms that nearly cancel is only as exact as its terms: an absolute tolerance too
    return dict(rtol=1e-5, atol=1e-6 * grad.size ** 0.5) if grad.dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


@given(case=broadcasts(), dtype=st.sampled_from([np.float64, np.float32]))
def test_unbroadcast_matches_the_reference(case, dtype):
    shape, big = case
    grad = np.random.default_rng(len(big)).standard_normal(big).astype(dtype)
    got = unbroadcast(grad, shape, "test")
    assert got.shape == shape and got.dtype == dtype
    np.testing.assert_allclose(got, reference_sum_to(grad, shape), **_tolerance(grad))


@pytest.mark.parametrize("threshold", [REAL, 1], ids=["real threshold", "every size on the matrix-vector path"])
@given(rows=st.lists(st.integers(1, 6), min_size=1, max_size=3), width=st.integers(1, 9),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_the_fast_row_sum_matches_the_reference(rows, width, dtype, threshold, monkeypatch):
    monkeypatch.setattr(blas_linear, "ROW_SUM_GEMV_MIN_SIZE", threshold)
    grad = np.random.default_rng(width).standard_normal(tuple(rows) + (width,)).astype(dtype)
    got = blas_linear.row_sum(np, grad)
    assert got.shape == (width,) and got.dtype == dtype
    np.testing.assert_allclose(got, reference_sum_to(grad, (width,)), **_tolerance(grad))


# (input shape, broadcast shape) at real sizes: leading axes, stretched axes, size-1 leading axes
REAL_SIZES = [
    ((128,), (64, 128)),                 # a bias: 8192 elements
    ((REAL,), (1, REAL)),
    ((16, 128), (4, 16, 128)),           # leading axis over a 2-D input
    ((64, 1), (64, 128)),                # a stretched axis, no leading one
    ((64, 1), (2, 64, 128)),             # stretched and leading
    ((1, 128), (2, 64, 128)),            # size-1 leading axis of the input, stretched
    ((1,), (1, REAL)),                   # (1, n) summed to (1,)
    ((1,), (1, 2)),
    ((1, 2), (1, 1, 2)),
    ((1, 1), (REAL, 2)),
]


@pytest.mark.parametrize("shape,big", REAL_SIZES, ids=str)
def test_unbroadcast_at_real_sizes(shape, big):
    grad = np.random.default_rng(0).standard_normal(big).astype(np.float32)
    got = unbroadcast(grad, shape, "test")
    assert got.shape == shape
    np.testing.assert_allclose(got, reference_sum_to(grad.astype(np.float64), shape), rtol=2e-5, atol=1e-4)


def test_the_matrix_vector_path_is_taken_only_from_the_threshold(monkeypatch):
    calls = []

    class Recorder(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            calls.append(ufunc.__name__)
            return getattr(ufunc, method)(*(np.asarray(i) for i in inputs), **kwargs)

    def row_sum(big):
        calls.clear()
        blas_linear.row_sum(np, np.ones(big).view(Recorder))
        return "matmul" in calls

    assert row_sum((64, 128))
    assert not row_sum((1, REAL - 1))
    monkeypatch.setattr(blas_linear, "ROW_SUM_GEMV_MIN_SIZE", 2)
    assert row_sum((3, 2))


def test_a_gradient_that_cannot_be_unbroadcast_names_the_op():
    with pytest.raises(RuntimeError, match="backward of op 'mine' returned a gradient of shape \\(3, 2\\)"):
        unbroadcast(np.ones((3, 2)), (3, 4), "mine")


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
