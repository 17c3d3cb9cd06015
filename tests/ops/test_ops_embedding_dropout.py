"""embedding (gather, scatter-add backward) and dropout (statistics, mask reuse, seeding)."""
import importlib

import numpy as np
import pytest

import ops
from autograd import Tensor, manual_seed
from autograd.random import splitmix64
from helpers import check_gradcheck, check_numpy_forward, helper_test_op

dropout_module = importlib.import_module("ops.dropout")  # `ops.dropout` itself is the function

IDS = [np.array([3, 1, 3, 3, 0]), np.array([[0, 2, 2], [4, 4, 1]]), np.array(2)]


@pytest.mark.parametrize("ids", IDS, ids=["1-d repeats", "2-d repeats", "scalar"])
def test_embedding(ids, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    fn = lambda w: ops.embedding(ids, w)  # noqa: E731
    check_numpy_forward([(5, 3)], fn, lambda w: w[ids], device)
    check_gradcheck([(5, 3)], fn, device)
    helper_test_op([(5, 3)], fn, lambda w: torch.nn.functional.embedding(torch.from_numpy(ids), w), device)


def test_embedding_repeated_ids_accumulate(device):
    w = Tensor(np.zeros((4, 2)), requires_grad=True, dtype="float64", device=device)
    ops.embedding(Tensor(np.array([[1, 1], [1, 3]]), device=device), w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [3, 3], [0, 0], [1, 1]])


def test_embedding_rejects_float_indices():
    with pytest.raises(TypeError, match="embedding.*integers"):
        ops.embedding(np.array([0.0, 1.0]), Tensor(np.ones((3, 2))))


# ---- dropout -------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_and_scaling(p, device):
    manual_seed(0)
    x = Tensor(np.ones((200, 500)), requires_grad=True, device=device)
    out = ops.dropout(x, p, training=True)
    y = out.numpy()
    dropped = (y == 0).mean()
    n = y.size
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / n), f"dropped {dropped:.4f}, expected {p}"
    np.testing.assert_allclose(y[y != 0], 1.0 / (1.0 - p), rtol=1e-6)
    assert out.dtype == np.float32
    # expected value is kept
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_backward_uses_the_forward_mask(device):
    manual_seed(1)
    rng = np.random.default_rng(0)
    xv, w = rng.uniform(1, 2, (30, 40)), rng.standard_normal((30, 40))
    x = Tensor(xv, requires_grad=True, dtype="float64", device=device)
    out = ops.dropout(x, 0.3)
    (out * Tensor(w, dtype="float64", device=device)).sum().backward()
    y = out.numpy()
    kept = y != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(y[kept], xv[kept] / 0.7, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, w / 0.7, 0.0), rtol=1e-12)


def test_dropout_not_training_or_p0_is_identity(device):
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5)), requires_grad=True, device=device)
    for out in (ops.dropout(x, 0.5, training=False), ops.dropout(x, 0.0)):
        np.testing.assert_array_equal(out.numpy(), x.numpy())
        x.grad = None
        out.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.ones((4, 5)))


def test_dropout_p1_drops_everything(device):
    x = Tensor(np.ones((3, 4)), requires_grad=True, device=device)
    out = ops.dropout(x, 1.0)
    out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), 0.0)
    np.testing.assert_array_equal(x.grad.numpy(), 0.0)


def test_dropout_seeded_generator_is_reproducible(device):
    x = Tensor(np.ones((20, 30)), device=device)
    manual_seed(123)
    a = ops.dropout(x, 0.5).numpy()
    b = ops.dropout(x, 0.5).numpy()
    manual_seed(123)
    c = ops.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)  # the generator advances between calls


def test_dropout_explicit_generator(device):
    if device == "cpu":
        make = np.random.default_rng
    else:
        import cupy

        make = cupy.random.default_rng
    x = Tensor(np.ones((20, 30)), device=device)
    a = ops.dropout(x, 0.4, rng=make(7)).numpy()
    b = ops.dropout(x, 0.4, rng=make(7)).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match="dropout.*p"):
        ops.dropout(Tensor(np.ones(3)), p)


# ---- dropout's random bits ------------------------------------------------------------------------
def test_random_bits_take_one_draw_and_cut_four_values_from_each_word():
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    bits = dropout_module.random_bits(rng, (3, 5))
    seed = twin.bit_generator.random_raw()  # the one draw random_bits took
    assert rng.bit_generator.state == twin.bit_generator.state
    words = np.empty(4, np.uint64)  # 15 values need 4 words
    splitmix64(np.uint64(seed), words)
    expected = [(int(w) >> (16 * k)) & 0xFFFF for w in words for k in range(4)][:15]  # little-endian order
    if np.little_endian:
        assert bits.dtype == np.uint16 and bits.reshape(-1).tolist() == expected
    assert bits.shape == (3, 5)
