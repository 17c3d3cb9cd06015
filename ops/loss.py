"""Losses: cross-entropy (fused and composed), negative log-likelihood, mean squared error.

Cross-entropy of a row of scores x (C classes) against target class t, with
label smoothing s, as `torch.nn.functional.cross_entropy`:

    log p = log_softmax(x)
    q = (1 - s) * one_hot(t) + s / C                 (the target distribution)
    loss = -sum_j q_j log p_j = -(1 - s) log p_t - s * mean_j log p_j

Rows whose target is `ignore_index` add nothing; "mean" divides by the number
of rows that count. Backward, with r the gradient that reaches the row:

    dx = (softmax(x) - q) * r

The Function below is that math, and what `cross_entropy()` runs; after
`ops.fast.enable()` the same math runs in fewer passes over memory (in place,
compiled, or CUDA kernels), tested against the form written here. Those forms
replace only the two row computations, `softmax_and_loss` and `softmax_minus_target`.
"""
import numpy as np

from autograd import Function, Tensor, backend

from .dispatch import form
from .compare import where
from .softmax import log_softmax, log_softmax_of

REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(Function):
    """log_softmax + label-smoothed NLL in one node; backward is softmax - target distribution."""
    rule = "L = −mean log softmax(z)[t]:  dz = (softmax(z) − onehot(t)) / n"

    name = "cross_entropy"
    once_differentiable = True

    @staticmethod
    def forward(ctx, logits, targets, ignore_index, smoothing, reduction):
        xp, classes = ctx.xp, logits.shape[-1]
        t, valid = _flat_targets(xp, targets, ignore_index, classes)
        probs, per_target = ctx.fn.softmax_and_loss(xp, logits.reshape(-1, classes), t, valid, smoothing)
        count = xp.asarray(valid.sum())
        ctx.save_for_backward(probs, t, valid, count)
        ctx.smoothing, ctx.reduction, ctx.logits_shape = smoothing, reduction, logits.shape
        if reduction == "none":
            return per_target.reshape(targets.shape)
        total = per_target.sum()
        return total / count.astype(logits.dtype) if reduction == "mean" else total

    @staticmethod
    def softmax_and_loss(xp, x, t, valid, smoothing):
        """(softmax, loss per row) of (N, C) scores against targets `t`; the loss is 0 where not `valid`."""
        log_p = log_softmax_of(xp, x, -1)  # (N, C)
        loss = -(1.0 - smoothing) * log_p[xp.arange(t.size), t] - smoothing * log_p.mean(axis=-1)
        return xp.exp(log_p), xp.where(valid, loss, 0).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        probs, t, valid, count = ctx.saved_tensors  # arrays: a once-differentiable backward never records
        if ctx.reduction == "mean":
            # every target ignored: the mean is 0/0 (NaN, as in PyTorch), but no row gets a gradient (not 0 * inf)
            row_scale = valid * (grad / ctx.xp.maximum(count, 1).astype(probs.dtype))
        elif ctx.reduction == "sum":
            row_scale = valid * grad
        else:
            row_scale = valid * grad.reshape(-1)
        row_scale = row_scale.astype(probs.dtype, copy=False)  # (N,): the gradient reaching each row
        dx = ctx.fn.softmax_minus_target(ctx, probs, t, row_scale, ctx.smoothing)
        return dx.reshape(ctx.logits_shape), None, None, None, None

    @staticmethod
    def softmax_minus_target(ctx, probs, t, row_scale, smoothing):
        """(softmax - q) * row_scale for (N, C) `probs`, q the label-smoothed target distribution."""
        q = ctx.xp.full_like(probs, smoothing / probs.shape[-1])
        q[ctx.xp.arange(t.size), t] += 1.0 - smoothing
        return (probs - q) * row_scale[:, None]


def _flat_targets(xp, targets, ignore_index, classes):
    """(t, valid): the targets as one flat axis, ignored ones replaced by class 0, and where they count."""
    t = targets.reshape(-1)
    valid = t != ignore_index if ignore_index is not None else xp.ones(t.shape, dtype=bool)
    t = xp.where(valid, t, 0)
    if xp is np and t.size and (t.min() < 0 or t.max() >= classes):
        raise IndexError(f"target ids must lie in [0, {classes}), got values from {t.min()} to {t.max()}")
    return t, valid


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
        return form(CrossEntropy, logits).apply(logits, t.data, ignore_index, float(label_smoothing), reduction)
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
