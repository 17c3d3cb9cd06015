"""The fused ops as CUDA kernels: one launch each way (`autograd.cuda_kernels`).

`ops.fast.variant` picks these for CuPy float32/float64 tensors reduced over
the last axis. Same math and same saved values as the readable Functions they
subclass; a recorded backward (`create_graph=True`) runs the readable one.
"""
from autograd import cuda_kernels

from ..activation import GELU
from ..loss import CrossEntropy
from ..normalization import LayerNorm
from ..softmax import LogSoftmax, Softmax


class SoftmaxKernel(Softmax):
    @staticmethod
    def forward(ctx, x, axis):
        y = cuda_kernels.softmax_forward(ctx.xp, x)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording:
            return Softmax.backward(ctx, grad)
        (y,) = ctx.saved_tensors
        return cuda_kernels.softmax_backward(ctx.xp, y, grad), None


class LogSoftmaxKernel(LogSoftmax):
    @staticmethod
    def forward(ctx, x, axis):
        z = cuda_kernels.log_softmax_forward(ctx.xp, x)
        ctx.save_for_backward(z)
        ctx.axis = axis
        return z

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording:
            return LogSoftmax.backward(ctx, grad)
        (z,) = ctx.saved_tensors
        return cuda_kernels.log_softmax_backward(ctx.xp, z, grad), None


class LayerNormKernel(LayerNorm):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        out, x_hat, rstd = cuda_kernels.layer_norm_forward(ctx.xp, x, weight, bias, eps)
        ctx.save_for_backward(x_hat, rstd, weight)  # x_hat (n, d), rstd (n,)
        return out

    @staticmethod
    def backward(ctx, grad):
        x_hat, rstd, weight = ctx.saved_tensors
        xp, d = ctx.xp, x_hat.shape[-1]
        g = grad.reshape(-1, d)
        grad_w = xp.einsum("ij,ij->j", g, x_hat) if ctx.needs_grad(1) else None  # summed over rows here
        grad_b = g.sum(axis=0) if ctx.needs_grad(2) else None
        return cuda_kernels.layer_norm_backward(xp, grad, x_hat, rstd, weight), grad_w, grad_b, None


class CrossEntropyKernel(CrossEntropy):
    @staticmethod
    def softmax_and_loss(xp, x, t, valid, smoothing):
        return cuda_kernels.cross_entropy_forward(xp, x, t, valid, smoothing)

    @staticmethod
    def softmax_minus_target(ctx, probs, t, row_scale, smoothing):
        return cuda_kernels.cross_entropy_backward(ctx.xp, probs, t, row_scale, smoothing)


class GELUKernel(GELU):
    @staticmethod
    def forward(ctx, a, approximate):
        ctx.approximate = approximate
        ctx.save_for_backward(a, None)  # the backward kernel recomputes Phi(x) in registers
        return cuda_kernels.gelu_forward(ctx.xp, a, approximate)

    @staticmethod
    def backward(ctx, grad):
        x, _ = ctx.saved_tensors
        return cuda_kernels.gelu_backward(ctx.xp, x, grad, ctx.approximate), None
