"""softmax / log_softmax (fused and composed), masked_fill, attention masks, fully masked rows."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ops
from autograd import Tensor, detect_anomaly
from helpers import check_gradcheck, check_numpy_forward, helper_test_op
from ops.fast.rows import row_max


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


FUSED = [True, False]
AXES = [((4, 6), -1), ((4, 6), 0), ((2, 3, 5), 1), ((7,), 0)]


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("shape,axis", AXES, ids=str)
def test_softmax(fused, shape, axis, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    fn = lambda x: ops.softmax(x, axis, fused=fused)  # noqa: E731
    check_numpy_forward([shape], fn, lambda x: np_softmax(x, axis), device)
    check_gradcheck([shape], fn, device)
    helper_test_op([shape], fn, lambda x: torch.softmax(x, axis), device, low=-4, high=4)


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("shape,axis", AXES, ids=str)
def test_log_softmax(fused, shape, axis, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    fn = lambda x: ops.log_softmax(x, axis, fused=fused)  # noqa: E731
    check_numpy_forward([shape], fn, lambda x: np_log_softmax(x, axis), device)
    check_gradcheck([shape], fn, device)
    helper_test_op([shape], fn, lambda x: torch.log_softmax(x, axis), device, low=-4, high=4)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_tensor_methods(name, device, torch):
    helper_test_op([(3, 5)], lambda x: getattr(x, name)(), lambda x: getattr(torch, name)(x, -1), device)


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_large_scores_are_stable(name, fused, device, torch):
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1002.0, -1001.0]])
    outs = helper_test_op([x], lambda t: getattr(ops, name)(t, -1, fused=fused),
                          lambda t: getattr(torch, name)(t, -1), device)[0]
    assert np.isfinite(outs[0].numpy()).all()


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_fused_and_composed_agree(name, device):
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    w = np.random.default_rng(1).standard_normal((3, 4, 5))
    results = []
    for fused in FUSED:
        t = Tensor(x, requires_grad=True, dtype="float64", device=device)
        out = getattr(ops, name)(t, axis=1, fused=fused)
        (out * Tensor(w, dtype="float64", device=device)).sum().backward()
        results.append((out.numpy(), t.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], atol=1e-12)


def test_fused_is_one_node_composed_is_many():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    assert ops.softmax(x).grad_fn.name == "softmax"
    assert ops.log_softmax(x).grad_fn.name == "log_softmax"
    assert ops.softmax(x, fused=False).grad_fn.name != "softmax"


@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), data=st.data())
def test_softmax_hypothesis(shape, data, device):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    fused = data.draw(st.booleans())
    seed = data.draw(st.integers(0, 2**16))
    for name, ref in (("softmax", np_softmax), ("log_softmax", np_log_softmax)):
        fn = lambda x: getattr(ops, name)(x, axis, fused=fused)  # noqa: E731
        check_numpy_forward([shape], fn, lambda x: ref(x, axis), device, seed=seed, low=-5, high=5)
        check_gradcheck([shape], fn, device, seed=seed, low=-5, high=5)


# ---- masked_fill and masks ---------------------------------------------------------------------
@pytest.mark.parametrize("mask_shape", [(3, 4), (1, 4), (3, 1)], ids=str)
def test_masked_fill(mask_shape, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    mask = np.random.default_rng(2).random(mask_shape) > 0.5
    check_numpy_forward([(3, 4), mask], lambda x, m: x.masked_fill(m, -7.5), lambda x, m: np.where(m, -7.5, x), device)
    check_gradcheck([(3, 4), mask], lambda x, m: ops.masked_fill(x, m, 2.0), device)
    helper_test_op([(3, 4), mask], lambda x, m: ops.masked_fill(x, m, -7.5), lambda x, m: x.masked_fill(m, -7.5), device)


def test_masked_fill_keeps_float32(device):
    x = Tensor(np.ones((2, 2)), device=device)
    out = ops.masked_fill(x, Tensor(np.eye(2, dtype=bool), device=device), float("-inf"))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), np.where(np.eye(2, dtype=bool), -np.inf, 1.0))


def test_masked_fill_rejects_a_non_boolean_mask():
    with pytest.raises(ValueError, match="masked_fill.*boolean"):
        ops.masked_fill(Tensor(np.ones(3)), Tensor(np.array([1, 0, 1])), 0.0)


def test_causal_mask(device):
    m = ops.causal_mask(5, device=device)
    assert m.dtype == np.bool_ and m.device == device
    np.testing.assert_array_equal(m.numpy(), np.arange(5)[None, :] <= np.arange(5)[:, None])


def test_padding_mask(device):
    tokens = np.array([[5, 6, 0, 0], [7, 0, 8, 9]])
    m = ops.padding_mask(Tensor(tokens, device=device), 0)
    assert m.shape == (2, 1, 1, 4) and m.dtype == np.bool_
    np.testing.assert_array_equal(m.numpy(), (tokens != 0)[:, None, None, :])
    np.testing.assert_array_equal(ops.padding_mask(tokens, 0).numpy(), (tokens != 0)[:, None, None, :])


def test_padding_mask_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"padding_mask.*\(4,\)"):
        ops.padding_mask(np.array([1, 2, 3, 0]), 0)


@pytest.mark.parametrize("fused", FUSED)
def test_masked_attention_scores_match_torch(fused, device, torch):
    """Scores (B, H, T, T) hidden by a padding mask and a causal mask, then softmax: as torch."""
    tokens = np.array([[3, 4, 5, 0], [6, 7, 0, 0]])
    pad = (tokens != 0)[:, None, None, :]
    allowed = pad & np.tril(np.ones((4, 4), dtype=bool))

    def ours(scores):
        mask = ops.padding_mask(Tensor(tokens, device=scores.device), 0) & ops.causal_mask(4, device=scores.device)
        return ops.softmax(ops.masked_fill(scores, ~mask, float("-inf")), -1, fused=fused)

    def theirs(scores):
        return torch.softmax(scores.masked_fill(~torch.from_numpy(allowed), float("-inf")), -1)

    helper_test_op([(2, 2, 4, 4)], ours, theirs, device)


# ---- fully masked rows ------------------------------------------------------------------------
@pytest.mark.parametrize("fused", FUSED)
def test_fully_masked_softmax_row_gives_zeros_and_zero_gradient(fused, device, torch):
    x = np.random.default_rng(4).standard_normal((3, 4))
    mask = np.ones((3, 4), dtype=bool)
    mask[1] = False          # row 1: every position hidden
    mask[2, :2] = False      # row 2: partly hidden
    t = Tensor(x, requires_grad=True, dtype="float64", device=device)
    w = np.random.default_rng(5).standard_normal((3, 4))
    with detect_anomaly():   # -inf from masking is expected: no AnomalyError
        out = ops.softmax(ops.masked_fill(t, Tensor(~mask, device=device), float("-inf")), -1, fused=fused)
        (out * Tensor(w, dtype="float64", device=device)).sum().backward()
    y, g = out.numpy(), t.grad.numpy()
    assert np.isfinite(y).all() and np.isfinite(g).all()
    np.testing.assert_array_equal(y[1], 0.0)
    np.testing.assert_array_equal(g[1], 0.0)
    # the other rows are exactly torch's
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.softmax(tx.masked_fill(~torch.from_numpy(mask), float("-inf")), -1)
    (ty * torch.from_numpy(w)).sum().backward()
    keep = [0, 2]
    np.testing.assert_allclose(y[keep], ty.detach().numpy()[keep], atol=1e-12)
    np.testing.assert_allclose(g[keep], tx.grad.numpy()[keep], atol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_masked_softmax_under_detect_anomaly_does_not_raise(name, device):
    scores = Tensor(np.random.default_rng(6).standard_normal((2, 3, 3)), requires_grad=True, device=device)
    causal = ops.causal_mask(3, device=device)
    with detect_anomaly():
        for fused in FUSED:
            out = getattr(ops, name)(ops.masked_fill(scores, ~causal, float("-inf")), -1, fused=fused)
            finite = out.numpy()[np.broadcast_to(causal.numpy(), out.shape)]
            out_ok = ops.where(causal, out, 0.0)  # log_softmax is -inf where hidden: keep the rest
            out_ok.sum().backward()
            assert np.isfinite(finite).all() and np.isfinite(scores.grad.numpy()).all()


@pytest.mark.parametrize("n", [1, 2, 3, 7, 12, 33, 64, 65])
def test_row_max_by_halving_matches_numpy(n):
    """The pairwise row maximum that softmax uses on short rows, odd lengths, -inf and NaN included."""
    x = np.random.default_rng(n).standard_normal((5, 4, n))
    x[0, 0] = -np.inf
    x[1, 1, n // 2] = np.nan
    x[2, 2, -1] = 50.0  # the maximum in the last place, which an odd halving carries separately
    np.testing.assert_array_equal(row_max(np, x, -1), x.max(-1, keepdims=True))
    np.testing.assert_array_equal(row_max(np, x, 1), x.max(1, keepdims=True))
