"""autograd.cpu_kernels.blas.add_product: out += a @ b through NumPy's own BLAS, held to NumPy's matmul."""
import numpy as np
import pytest

import ops
from autograd import Tensor
from autograd.cpu_kernels import blas
from ops.fast.blas_linear import BLAS_MIN_OUTPUT

BLAS_FOUND = blas._gemms() is not None


@pytest.fixture(params=[True, False], ids=["blas", "numpy"])
def through_blas(request, monkeypatch):
    """Run with the BLAS call (skipped where NumPy's OpenBLAS is not found), then with NumPy's matmul."""
    if request.param and not BLAS_FOUND:
        pytest.skip("NumPy's bundled OpenBLAS was not found")
    monkeypatch.setattr(blas, "enabled", request.param)
    return request.param


def _operand(rng, shape, layout, dtype):
    """A (rows, cols) matrix laid out as asked: C order, the transpose of a C matrix, or every other column."""
    if layout == "transposed":
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    if layout == "strided":
        return rng.standard_normal((shape[0], 2 * shape[1])).astype(dtype)[:, ::2]
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("a_layout", ["c", "transposed", "strided"])
@pytest.mark.parametrize("b_layout", ["c", "transposed", "strided"])
def test_add_product_matches_numpy(through_blas, dtype, rtol, a_layout, b_layout):
    rng = np.random.default_rng(0)
    a, b = _operand(rng, (37, 19), a_layout, dtype), _operand(rng, (19, 23), b_layout, dtype)
    start = rng.standard_normal((37, 23)).astype(dtype)
    out = start.copy()
    assert blas.add_product(out, a, b) is out
    np.testing.assert_allclose(out, start + a @ b, rtol=rtol, atol=rtol)
    assert blas.takes(out, a, b) == through_blas


@pytest.mark.parametrize("m, k, n", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (1, 1, 1), (1, 5, 1)])
def test_add_product_edge_shapes(through_blas, m, k, n):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    start = rng.standard_normal((m, n))
    out = start.copy()
    blas.add_product(out, a, b)
    np.testing.assert_allclose(out, start + a @ b, rtol=1e-12, atol=1e-12)


def test_add_product_names_the_shapes():
    with pytest.raises(ValueError, match=r"add_product.*\(3, 4\).*\(5, 2\)"):
        blas.add_product(np.zeros((3, 2)), np.zeros((3, 4)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"add_product.*\(3,\)"):
        blas.add_product(np.zeros((3, 2)), np.zeros(3), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="C-contiguous out"):
        blas.add_product(np.zeros((2, 3)).T, np.zeros((3, 4)), np.zeros((4, 2)))


def test_add_product_reads_the_operands_before_writing_an_overlapping_out(through_blas):
    rng = np.random.default_rng(4)
    square, weight = rng.standard_normal((64, 64)), rng.standard_normal((64, 64))
    out = square.copy()
    blas.add_product(out, out, weight)  # out is also the left operand
    np.testing.assert_allclose(out, square + square @ weight, rtol=1e-12, atol=1e-12)
    out = square.copy()
    blas.add_product(out, weight, out[:, :])  # a view of out as the right operand
    np.testing.assert_allclose(out, square + weight @ square, rtol=1e-12, atol=1e-12)


def test_add_product_never_writes_a_read_only_out(through_blas):
    out = np.zeros((3, 3))
    out.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        blas.add_product(out, np.ones((3, 2)), np.ones((2, 3)))
    assert not out.any()


def test_takes_only_one_float_dtype_of_numpy_arrays():
    f32, f64 = np.zeros((2, 2), np.float32), np.zeros((2, 2))
    assert not blas.takes(f32, f64)
    assert not blas.takes(np.zeros((2, 2), np.int64), np.zeros((2, 2), np.int64))
    assert not blas.takes(f32.astype(np.float16), f32.astype(np.float16))
    out = np.ones((2, 2), np.int64)  # what BLAS does not take is still added, by NumPy
    blas.add_product(out, np.eye(2, dtype=np.int64), np.full((2, 2), 3, np.int64))
    np.testing.assert_array_equal(out, [[4, 4], [4, 4]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_through_blas_matches_the_composed_graph(through_blas, dtype, monkeypatch):
    calls = []
    add_product = blas.add_product
    monkeypatch.setattr(blas, "add_product", lambda *args: calls.append(1) or add_product(*args))
    rng = np.random.default_rng(2)
    x = Tensor(rng.standard_normal((8, 64, 16)), dtype=dtype, requires_grad=True)  # 512 rows
    w = Tensor(rng.standard_normal((BLAS_MIN_OUTPUT // 512, 16)), dtype=dtype, requires_grad=True)
    b = Tensor(rng.standard_normal(w.shape[0]), dtype=dtype, requires_grad=True)
    with ops.fast.enable():  # the bias inside the GEMM is the fast form of linear
        fused = ops.linear(x, w, b)
    assert len(calls) == through_blas  # an output of BLAS_MIN_OUTPUT elements goes through BLAS
    composed = ops.linear(x, w, b, fused=False)
    assert fused.shape == (8, 64, w.shape[0]) and fused.dtype == composed.dtype
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=tol, atol=tol)
