"""The fast forms of matmul (`ops.fast.folded`), linear (`ops.fast.blas_linear`) and embedding
(`ops.fast.scatter`) against the readable Functions: the same outputs and every gradient."""
import numpy as np
import pytest

import ops
from autograd import Tensor
from ops.embedding import Embedding
from ops.fast.blas_linear import LinearBLAS
from ops.fast.folded import MatMulFolded
from ops.fast.scatter import EmbeddingRows
from ops.linear import Linear
from ops.matmul import MatMul


def _forward_backward(fn, arrays, dtype, fast, device="cpu"):
    """fn on Tensors of `arrays` with the fast forms on or off: (output, every gradient), as NumPy arrays."""
    tensors = [Tensor(a, dtype=dtype, requires_grad=True, device=device) for a in arrays]
    with ops.fast.enable() if fast else ops.fast.disable():
        out = fn(*tensors)
    weights = np.random.default_rng(7).standard_normal(out.shape)
    (out * Tensor(weights, dtype=dtype, device=device)).sum().backward()
    return out, [out.numpy()] + [t.grad.numpy() for t in tensors]


def _assert_same(fn, arrays, dtype, fast_form, readable_form):
    out_fast, fast = _forward_backward(fn, arrays, dtype, fast=True)
    out_readable, readable = _forward_backward(fn, arrays, dtype, fast=False)
    assert out_fast._ctx.fn is fast_form and out_readable._ctx.fn is readable_form
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-11, atol=1e-11)
    for f, r in zip(fast, readable):
        assert f.shape == r.shape
        np.testing.assert_allclose(f, r, **tol)


MATMUL_SHAPES = [
    ((4, 3), (3, 5)),            # plain
    ((2, 6, 4, 3), (3, 5)),      # a stack times one matrix: folded into one GEMM
    ((2, 1, 4, 3), (6, 3, 5)),   # broadcast batch axes
    ((3,), (2, 3, 5)),           # 1-D first operand
    ((2, 4, 3), (3,)),           # 1-D second operand
    ((3,), (3,)),                # a dot product
    ((1, 3), (3, 1)),            # a single row and column
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES, ids=str)
def test_folded_matmul_matches_the_readable_one(shape_a, shape_b, dtype, rng):
    arrays = [rng.standard_normal(shape_a), rng.standard_normal(shape_b)]
    _assert_same(ops.matmul, arrays, dtype, MatMulFolded, MatMul)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_folded_matmul_with_a_transposed_weight_matches(dtype, rng):
    """x @ w.T, where w's gradient is computed in w's own layout."""
    arrays = [rng.standard_normal((2, 7, 4)), rng.standard_normal((6, 4))]
    _assert_same(lambda x, w: ops.matmul(x, w.T), arrays, dtype, MatMulFolded, MatMul)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("x_shape,out_features,bias", [
    ((5, 4), 3, True), ((2, 7, 4), 6, True), ((2, 7, 4), 6, False),
    ((64, 64, 8), 8, True),  # 32768 outputs: the bias inside the GEMM, and the bias's row sum as a GEMV
    ((1, 4), 1, True),
], ids=str)
def test_blas_linear_matches_the_readable_one(x_shape, out_features, bias, dtype, rng):
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((out_features, x_shape[-1]))]
    if bias:
        arrays.append(rng.standard_normal(out_features))
    _assert_same(ops.linear, arrays, dtype, LinearBLAS, Linear)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_by_rows_matches_the_readable_one(padding_idx, dtype, rng):
    ids = np.array([[0, 2, 5, 2], [5, 5, 1, 0]])  # repeated ids accumulate
    _assert_same(lambda w: ops.embedding(ids, w, padding_idx), [rng.standard_normal((6, 3))], dtype,
                 EmbeddingRows, Embedding)


def test_a_recorded_backward_through_the_fast_products_is_the_readable_one(rng):
    """create_graph=True runs each fast form's readable backward: second derivatives agree."""
    x0, w0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4))
    results = []
    for fast in (True, False):
        x, w = Tensor(x0, requires_grad=True, dtype="float64"), Tensor(w0, requires_grad=True, dtype="float64")
        with ops.fast.enable() if fast else ops.fast.disable():
            y = ops.linear(x, w) + ops.matmul(x, w.T)
        (y * y).sum().backward(create_graph=True)
        (x.grad * x.grad).sum().backward()
        results.append(w.grad.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10)
