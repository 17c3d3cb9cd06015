"""Losses: cross-entropy (fused and composed), negative log-likelihood, mean squared error."""
import numpy as np

from autograd import Function, Tensor, backend

from . import cuda
from ._rows import row_sum
from .compare import where
from .softmax import log_softmax

REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(Function):
    """log_softmax + label-smoothed NLL in one node; backward is softmax - target distribution."""

    name = "cross_entropy"
    once_differentiable = True

    @staticmethod
    def forward(ctx, logits, targets, ignore_index, smoothing, reduction):
        xp = ctx.xp
        classes = logits.shape[-1]
        t = targets.reshape(-1)
        valid = t != ignore_index if ignore_index is not None else xp.ones(t.shape, dtype=bool)
        t = xp.where(valid, t, 0)
        if xp is np and t.size and (t.min() < 0 or t.max() >= classes):
            raise IndexError(f"target ids must lie in [0, {classes}), got values from {t.min()} to {t.max()}")
        if cuda.applies(xp, logits):
            probs, per_target = cuda.cross_entropy_forward(xp, logits, t, valid, smoothing)
        else:
            probs, per_target = _softmax_and_loss(xp, logits.reshape(-1, classes), t, valid, smoothing)
        count = xp.asarray(valid.sum())
        ctx.save_for_backward(probs, t, valid, count)
        ctx.smoothing, ctx.reduction, ctx.logits_shape = smoothing, reduction, logits.shape
        if reduction == "none":
            return per_target.reshape(targets.shape)
        total = per_target.sum()
        return total / count.astype(logits.dtype) if reduction == "mean" else total

    @staticmethod
    def backward(ctx, grad):
        # d loss / d logits = (softmax - q) * (the gradient reaching each row)
        probs, t, valid, count = ctx.saved_tensors  # arrays: a once-differentiable backward never records
        xp, s, g = ctx.xp, ctx.smoothing, grad
        if ctx.reduction == "mean":
            row_scale = valid * (g / count.astype(probs.dtype))
        elif ctx.reduction == "sum":
            row_scale = valid * g
        else:
            row_scale = valid * g.reshape(-1)
        row_scale = row_scale.astype(probs.dtype, copy=False)  # (N,)
        if cuda.applies(xp, probs):
            return cuda.cross_entropy_backward(xp, probs, t, row_scale, s).reshape(ctx.logits_shape), None, None, None, None
        row_scale = row_scale[:, None]  # (N, 1)
        d = probs if ctx.last_use else probs.copy()  # the softmax is this op's own array
        d *= row_scale
        if s:
            d -= row_scale * (s / probs.shape[-1])
        d[xp.arange(t.size), t] -= (1.0 - s) * row_scale[:, 0]
        return d.reshape(ctx.logits_shape), None, None, None, None


def _softmax_and_loss(xp, x, t, valid, smoothing):
    """(softmax, loss per row) of (N, C) scores against targets `t`, 0 where not `valid`.

    log p = shifted - lse, with shifted = x - max(x) and lse = log(sum(exp(shifted))).
    Only log p at the targets and the mean of log p are needed, so log p itself is
    never built. One (N, C) array is made: shifted, turned in place into the
    softmax that backward keeps. Row sums are matrix-vector products (BLAS).
    """
    probs = x - x.max(axis=-1)[:, None]  # shifted, (N, C)
    target_shifted = probs[xp.arange(t.size), t]  # (N,)
    mean_shifted = row_sum(xp, probs)[:, 0] / x.shape[-1]  # (N,)
    xp.exp(probs, out=probs)
    total = row_sum(xp, probs)[:, 0]  # (N,)
    probs /= total[:, None]  # the softmax
    # the target distribution is q = (1 - s) * one_hot + s / C, so -sum(q log p) is:
    per_target = xp.log(total) - (1.0 - smoothing) * target_shifted - smoothing * mean_shifted
    return probs, xp.where(valid, per_target, 0).astype(x.dtype, copy=False)


def _targets(logits, targets, op):
    t = targets.to(logits.device) if isinstance(targets, Tensor) else Tensor(np.asarray(targets), device=logits.device)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: targets must be integer class ids, got {t.dtype}")
    if t.shape != logits.shape[:-1]:
        raise ValueError(f"{op}: targets of shape {t.shape} do not match logits of shape {logits.shape} (expected {logits.shape[:-1]})")
    return t


def cross_entropy(logits, targets, ignore_index=None, label_smoothing=0.0, reduction="mean", fused=True):
    """Cross-entropy of class scores against integer targets, as `torch.nn.functional.cross_entropy`.

    Args:
        logits: scores of shape (..., C).
        targets: integer ids of shape (...).
        ignore_index: targets equal to it add nothing and are not counted.
        label_smoothing: s in [0, 1]: the target distribution is (1 - s) on the
            true class plus s / C on every class.
        reduction: "mean" over the targets not ignored, "sum", or "none".
        fused: one node (True) or composed from log_softmax and indexing (False).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = _targets(logits, targets, "cross_entropy")
    if fused:
        return CrossEntropy.apply(logits, t.data, ignore_index, float(label_smoothing), reduction)
    logp = log_softmax(logits, -1, fused=False)
    nll = nll_loss(logp, t, ignore_index, reduction="none")
    if label_smoothing:
        smooth = -logp.mean(-1)
        if ignore_index is not None:
            smooth = where(t != ignore_index, smooth, 0.0)
        nll = nll * (1.0 - label_smoothing) + smooth * label_smoothing
    return _reduce(nll, t, ignore_index, reduction)


def nll_loss(log_probs, targets, ignore_index=None, reduction="mean"):
    """Negative log-likelihood: -log_probs[..., target], as `torch.nn.functional.nll_loss`."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"nll_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    t = _targets(log_probs, targets, "nll_loss")
    classes = log_probs.shape[-1]
    xp = backend.xp_for(log_probs.device)
    flat_t = t.data.reshape(-1)
    valid = flat_t != ignore_index if ignore_index is not None else xp.ones(flat_t.shape, dtype=bool)
    picked = log_probs.reshape(-1, classes)[xp.arange(flat_t.size), xp.where(valid, flat_t, 0)]
    per_target = where(Tensor._wrap(valid), -picked, 0.0).reshape(t.shape)
    return _reduce(per_target, t, ignore_index, reduction)


def _reduce(per_target, t, ignore_index, reduction):
    if reduction == "none":
        return per_target
    total = per_target.sum()
    if reduction == "sum":
        return total
    count = (t != ignore_index).sum() if ignore_index is not None else t.size
    return total / (count.astype(per_target.dtype) if isinstance(count, Tensor) else count)


def mse_loss(prediction, target, reduction="mean"):
    """Mean squared error, as `torch.nn.functional.mse_loss`."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if isinstance(target, Tensor) and target.shape != prediction.shape:
        raise ValueError(f"mse_loss: prediction {prediction.shape} and target {target.shape} differ in shape")
    squared = (prediction - target) ** 2
    if reduction == "none":
        return squared
    return squared.mean() if reduction == "mean" else squared.sum()
