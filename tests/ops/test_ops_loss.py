"""cross_entropy (fused and composed), nll_loss, mse_loss against NumPy, torch and gradcheck."""
import numpy as np
import pytest

import ops
from autograd import Tensor
from helpers import check_gradcheck, check_numpy_forward, helper_test_op

FUSED = [True, False]
REDUCTIONS = ["mean", "sum", "none"]


def targets_for(shape, classes, ignore=None, seed=7):
    t = np.random.default_rng(seed).integers(0, classes, size=shape)
    if ignore is not None:
        t.flat[::3] = ignore  # every third target ignored
    return t


def torch_ce(torch, logits, targets, ignore_index, smoothing, reduction):
    if logits.ndim > 2:  # torch wants the class axis second: (B, C, T)
        logits = logits.movedim(-1, 1)
    return torch.nn.functional.cross_entropy(
        logits, targets, ignore_index=-100 if ignore_index is None else ignore_index,
        label_smoothing=smoothing, reduction=reduction)


def np_cross_entropy(logits, targets, ignore_index, smoothing, reduction):
    shifted = logits - logits.max(-1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    valid = np.ones(targets.shape, bool) if ignore_index is None else targets != ignore_index
    picked = np.take_along_axis(logp, np.where(valid, targets, 0)[..., None], -1)[..., 0]
    per = np.where(valid, -(1 - smoothing) * picked - smoothing * logp.mean(-1), 0.0)
    if reduction == "none":
        return per
    return per.sum() if reduction == "sum" else per.sum() / valid.sum()


@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
@pytest.mark.parametrize("ignore_index", [None, 1, -100])
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 4)], ids=str)
def test_cross_entropy(fused, reduction, smoothing, ignore_index, shape, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    t = targets_for(shape[:-1], shape[-1], ignore=-100 if ignore_index == -100 else None)

    def fn(x):
        return ops.cross_entropy(x, t, ignore_index=ignore_index, label_smoothing=smoothing,
                                 reduction=reduction, fused=fused)

    check_numpy_forward([shape], fn, lambda x: np_cross_entropy(x, t, ignore_index, smoothing, reduction), device)
    check_gradcheck([shape], fn, device)
    helper_test_op([shape], fn, lambda x: torch_ce(torch, x, torch.from_numpy(t), ignore_index, smoothing, reduction),
                   device, low=-3, high=3)


@pytest.mark.parametrize("fused", FUSED)
def test_cross_entropy_targets_as_tensor_and_float32(fused, device, torch):
    t = targets_for((8,), 10)
    helper_test_op([(8, 10)], lambda x: ops.cross_entropy(x, Tensor(t, device=device), fused=fused),
                   lambda x: torch.nn.functional.cross_entropy(x, torch.from_numpy(t)), device,
                   dtype=np.float32, atol=1e-6, rtol=1e-5)


def test_cross_entropy_fused_and_composed_agree(device):
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((2, 5, 7)), targets_for((2, 5), 7)
    t[0, 1] = 3
    results = []
    for fused in FUSED:
        logits = Tensor(x, requires_grad=True, dtype="float64", device=device)
        loss = ops.cross_entropy(logits, t, ignore_index=3, label_smoothing=0.2, fused=fused)
        loss.backward()
        results.append((loss.item(), logits.grad.numpy()))
    assert results[0][0] == pytest.approx(results[1][0], abs=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], atol=1e-12)


@pytest.mark.filterwarnings("ignore:divide by zero", "ignore:invalid value")  # 0/0 and log(0), meant
@pytest.mark.parametrize("fused", FUSED)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_with_every_target_ignored_gives_zero_gradients(fused, smoothing, device, torch_lazy):
    """A batch of padding only: the mean is 0/0 = NaN, as in PyTorch, and no logit gets a gradient (not NaN)."""
    x = np.random.default_rng(2).standard_normal((3, 4))
    logits = Tensor(x, requires_grad=True, dtype="float64", device=device)
    loss = ops.cross_entropy(logits, np.full(3, 1), ignore_index=1, label_smoothing=smoothing, fused=fused)
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(logits.grad.numpy(), np.zeros_like(x))
    torch = torch_lazy
    if torch is not None:
        theirs = torch.tensor(x, requires_grad=True)
        their_loss = torch.nn.functional.cross_entropy(theirs, torch.full((3,), 1), ignore_index=1, label_smoothing=smoothing)
        their_loss.backward()
        assert np.isnan(their_loss.item())
        np.testing.assert_array_equal(theirs.grad.numpy(), logits.grad.numpy())


def test_cross_entropy_large_logits_are_stable(device, torch):
    x = np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0]])
    t = np.array([0, 2])
    for fused in FUSED:
        outs = helper_test_op([x], lambda z: ops.cross_entropy(z, t, fused=fused),
                              lambda z: torch.nn.functional.cross_entropy(z, torch.from_numpy(t)), device)[0]
        assert np.isfinite(outs[0].item())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore_index", [None, 2])
@pytest.mark.parametrize("shape", [(6, 4), (2, 3, 4)], ids=str)
def test_nll_loss(reduction, ignore_index, shape, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    t = targets_for(shape[:-1], shape[-1])

    def tfn(x):
        x = x.movedim(-1, 1) if x.ndim > 2 else x
        return torch.nn.functional.nll_loss(x, torch.from_numpy(t), reduction=reduction,
                                            ignore_index=-100 if ignore_index is None else ignore_index)

    fn = lambda x: ops.nll_loss(x, t, ignore_index=ignore_index, reduction=reduction)  # noqa: E731
    check_gradcheck([shape], fn, device)

    def np_nll(x):
        valid = np.ones(t.shape, bool) if ignore_index is None else t != ignore_index
        per = np.where(valid, -np.take_along_axis(x, t[..., None], -1)[..., 0], 0.0)
        return per if reduction == "none" else (per.sum() if reduction == "sum" else per.sum() / valid.sum())

    check_numpy_forward([shape], fn, np_nll, device)
    helper_test_op([shape], fn, tfn, device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(reduction, device, torch_lazy):
    torch = torch_lazy  # noqa: F841  (None without torch: the parity check, last, skips)
    fn = lambda p, t: ops.mse_loss(p, t, reduction=reduction)  # noqa: E731
    check_gradcheck([(3, 4), (3, 4)], fn, device)
    np_fn = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    check_numpy_forward([(3, 4), (3, 4)], fn, lambda p, t: np_fn((p - t) ** 2), device)
    helper_test_op([(3, 4), (3, 4)], fn, lambda p, t: torch.nn.functional.mse_loss(p, t, reduction=reduction), device)


def test_mse_loss_numpy_target(device, torch):
    target = np.random.default_rng(1).standard_normal((2, 5))
    helper_test_op([(2, 5)], lambda p: ops.mse_loss(p, target),
                   lambda p: torch.nn.functional.mse_loss(p, torch.from_numpy(target)), device)


# ---- bad inputs ------------------------------------------------------------------------------
@pytest.mark.parametrize("fused", FUSED)
def test_cross_entropy_target_shape_mismatch(fused):
    with pytest.raises(ValueError, match=r"cross_entropy.*\(3,\).*\(4, 5\)"):
        ops.cross_entropy(Tensor(np.zeros((4, 5))), np.array([0, 1, 2]), fused=fused)


def test_cross_entropy_float_targets():
    with pytest.raises(TypeError, match="cross_entropy.*integer"):
        ops.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0.0, 1.0]))


def test_cross_entropy_target_out_of_range():
    with pytest.raises(IndexError, match=r"cross_entropy.*\[0, 3\)"):
        ops.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0, 3]))


@pytest.mark.parametrize("kwargs,match", [({"reduction": "avg"}, "reduction"), ({"label_smoothing": 1.5}, "label_smoothing")])
def test_cross_entropy_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=f"cross_entropy.*{match}"):
        ops.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0, 1]), **kwargs)


def test_mse_loss_shape_mismatch():
    with pytest.raises(ValueError, match=r"mse_loss.*\(2, 3\).*\(3, 2\)"):
        ops.mse_loss(Tensor(np.zeros((2, 3))), Tensor(np.zeros((3, 2))))
