"""The fused ops as compiled CPU loops (`autograd.cpu_kernels`), for NumPy float32/float64 arrays.

Optional: they need numba (`pip install -e .[fast]`). Without it, or with the
environment variable TINYGRAD_TF_COMPILED=0, `ops.fast.variant` picks the
in-place NumPy forms instead, as it does for arrays under `MIN_SIZE` elements. Same math and same saved values as the readable
Functions they subclass; a recorded backward (`create_graph=True`) runs the
readable one.
"""
import numpy as np

from autograd import cpu_kernels
from autograd.backend import as_rows

from ..activation import ReLU
from ..dropout import Dropout, keep_scale, keep_threshold, random_bits
from ..normalization import LayerNorm
from .in_place import CrossEntropyInPlace, LayerNormInPlace, SoftmaxInPlace, row_losses


# Below this many elements the in-place NumPy forms run: a call into the compiled loops costs a few
# microseconds more, and a short job (translating one sentence) would wait half a second for numba to load.
MIN_SIZE = 16384


def takes(x):
    """Whether the compiled forms run on the Tensor `x`: NumPy float32/float64 of MIN_SIZE elements or more."""
    return x.device == "cpu" and x.size >= MIN_SIZE and cpu_kernels.takes(x.dtype)


def _flat(a):
    return np.ascontiguousarray(a).reshape(-1)


class LayerNormCompiled(LayerNorm):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        ctx.mixed = any(p is not None and p.dtype != x.dtype for p in (weight, bias))
        if ctx.mixed:  # a wider weight widens the result: the in-place form promotes as NumPy does
            return LayerNormInPlace.forward(ctx, x, weight, bias, eps)
        rows = as_rows(np, x)  # (n, d)
        n, d = rows.shape
        out, x_hat, rstd = np.empty_like(rows), np.empty_like(rows), np.empty((n, 1), dtype=x.dtype)
        w = np.ones(d, x.dtype) if weight is None else np.ascontiguousarray(weight)
        b = np.zeros(d, x.dtype) if bias is None else np.ascontiguousarray(bias)
        cpu_kernels.loops_module().layer_norm_forward(rows, w, b, x.dtype.type(eps), out, x_hat, rstd.reshape(-1))
        ctx.save_for_backward(x_hat, rstd, weight)  # as the in-place form: x_hat (n, d), rstd (n, 1)
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        if ctx.mixed:
            return LayerNormInPlace.backward(ctx, grad)
        x_hat, rstd, weight = ctx.saved_tensors
        d = x_hat.shape[-1]
        g = as_rows(np, grad, x_hat.dtype)
        grad_x = x_hat if ctx.last_use else np.empty_like(x_hat)  # x_hat is this op's own array
        grad_w, grad_b = np.empty(d, x_hat.dtype), np.empty(d, x_hat.dtype)
        w = np.ones(d, x_hat.dtype) if weight is None else np.ascontiguousarray(weight, dtype=x_hat.dtype)
        cpu_kernels.loops_module().layer_norm_backward(g, x_hat, rstd.reshape(-1), w, grad_x, grad_w, grad_b)
        return (grad_x.reshape(grad.shape), grad_w if ctx.needs_grad(1) else None,
                grad_b if ctx.needs_grad(2) else None, None)


class SoftmaxCompiled(SoftmaxInPlace):
    """Three passes: shift by the row maximum, NumPy's vectorised exp in place, normalise."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.other_axis = axis not in (-1, x.ndim - 1)
        if ctx.other_axis:  # the loops take rows: another axis is the in-place form's
            return SoftmaxInPlace.forward(ctx, x, axis)
        rows = as_rows(np, x)  # (n, c)
        y = np.empty_like(rows)
        kernels = cpu_kernels.loops_module()
        kernels.shift_by_row_max(rows, y)
        np.exp(y, out=y)
        kernels.normalize_rows(y, np.empty(y.shape[0], y.dtype))
        y = y.reshape(x.shape)
        ctx.save_for_backward(y)  # as the readable form: y, in x's shape
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording or ctx.other_axis:
            return SoftmaxInPlace.backward(ctx, grad)  # itself the readable backward when recording
        (y,) = ctx.saved_tensors
        rows = y.reshape(-1, y.shape[-1])
        dx = np.empty_like(rows)
        cpu_kernels.loops_module().softmax_backward(as_rows(np, grad, y.dtype), rows, dx)
        return dx.reshape(grad.shape), None


class CrossEntropyCompiled(CrossEntropyInPlace):
    """The in-place form's two row computations in three passes: shift (with the row sums it needs), exp, normalise."""

    @staticmethod
    def softmax_and_loss(xp, x, t, valid, smoothing):
        x = as_rows(np, x)
        n = x.shape[0]
        probs = np.empty_like(x)
        target_shifted, mean_shifted, total = (np.empty(n, x.dtype) for _ in range(3))
        kernels = cpu_kernels.loops_module()
        kernels.shift_rows(x, x.max(axis=1), np.ascontiguousarray(t), probs, target_shifted, mean_shifted)
        np.exp(probs, out=probs)  # NumPy's vectorised exp is faster than a compiled loop's
        kernels.normalize_rows(probs, total)
        return probs, row_losses(np, total, target_shifted, mean_shifted, valid, smoothing, x.dtype)

    @staticmethod
    def softmax_minus_target(ctx, probs, t, row_scale, smoothing):
        d = probs if ctx.last_use else np.empty_like(probs)  # the softmax is this op's own array
        scalar = probs.dtype.type  # the two constants rounded as the in-place form's are: the same bits
        cpu_kernels.loops_module().softmax_minus_target(probs, np.ascontiguousarray(t), row_scale,
                                                        scalar(smoothing / probs.shape[-1]), scalar(1.0 - smoothing), d)
        return d


class DropoutCompiled(Dropout):
    @staticmethod
    def forward(ctx, x, p, rng):
        if p >= 1:
            return Dropout.forward(ctx, x, p, rng)
        scale = keep_scale(p)
        bits = random_bits(rng, x.shape, cpu_kernels.loops_module().splitmix64)  # the readable form's bits: its mask
        out, keep = np.empty(x.shape, x.dtype), np.empty(x.shape, bool)
        # an int64 threshold: 65536 (p within 2^-17 of 1) keeps nothing, as in the readable form
        cpu_kernels.loops_module().dropout_forward(_flat(x), bits.reshape(-1), np.int64(keep_threshold(p)),
                                                   x.dtype.type(scale), out.reshape(-1), keep.reshape(-1))
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording:
            return Dropout.backward(ctx, grad)
        (keep,) = ctx.saved_tensors
        return _masked_scale(grad, keep, ctx.scale), None, None


class ReLUCompiled(ReLU):
    @staticmethod
    def forward(ctx, a):
        out, positive = np.empty(a.shape, a.dtype), np.empty(a.shape, bool)
        cpu_kernels.loops_module().relu_forward(_flat(a), out.reshape(-1), positive.reshape(-1))
        ctx.save_for_backward(positive)
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording:
            return ReLU.backward(ctx, grad)
        (positive,) = ctx.saved_tensors
        return _masked_scale(grad, positive, 1.0)


def _masked_scale(grad, keep, scale):
    """grad * keep * scale in one pass (a new array)."""
    out = np.empty(grad.shape, grad.dtype)
    cpu_kernels.loops_module().masked_scale(_flat(grad), keep.reshape(-1), grad.dtype.type(scale), out.reshape(-1))
    return out
