"""The fused ops in fewer passes over memory: one new array each, the other steps in place.

Same math as the readable Functions these subclass (see each op's own file),
on any backend's arrays. What they save, and why it is faster:

- each op allocates one array of the input's size and does the rest in place
  (exp, the division, the subtraction), where the readable form makes three
  to six temporaries;
- row sums are matrix-vector products and short rows' maxima are pairwise
  halvings (`rows`), several times faster than NumPy's reductions of short rows;
- layer norm's variance and its backward's row means of products are einsums
  (no (n, d) temporary), and on the last backward (`ctx.last_use`) layer norm
  and the loss turn their own saved array into the gradient.

A recorded backward (`create_graph=True`) runs the readable backward.
"""
from ..loss import CrossEntropy
from ..normalization import LayerNorm
from ..softmax import LogSoftmax, Softmax
from .rows import row_max, row_sum


class SoftmaxInPlace(Softmax):
    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        m = row_max(xp, x, axis)
        out = x - xp.where(xp.isfinite(m), m, 0)  # the one new array: exp and the division are in place
        xp.exp(out, out=out)
        s = row_sum(xp, out, axis)
        out /= xp.where(s == 0, 1, s)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording:
            return Softmax.backward(ctx, grad)
        (y,) = ctx.saved_tensors
        xp = ctx.xp
        dx = grad * y  # the one new array
        s = row_sum(xp, dx, ctx.axis)
        xp.subtract(grad, s, out=dx)
        dx *= y
        return dx, None


class LogSoftmaxInPlace(LogSoftmax):
    @staticmethod
    def forward(ctx, x, axis):
        xp = ctx.xp
        m = row_max(xp, x, axis)
        shifted = x - xp.where(xp.isfinite(m), m, 0)
        s = row_sum(xp, xp.exp(shifted), axis)
        shifted -= xp.log(xp.where(s == 0, 1, s))  # in place: shifted is new
        ctx.save_for_backward(shifted)
        ctx.axis = axis
        return shifted

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording:
            return LogSoftmax.backward(ctx, grad)
        (out,) = ctx.saved_tensors
        xp = ctx.xp
        dx = xp.exp(out)  # the one new array
        dx *= row_sum(xp, grad, ctx.axis)
        xp.subtract(grad, dx, out=dx)
        return dx, None


class LayerNormInPlace(LayerNorm):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        xp, d = ctx.xp, x.shape[-1]
        rows = x.reshape(-1, d)  # (n, d)
        x_hat = rows - row_sum(xp, rows) / d
        var = xp.einsum("ij,ij->i", x_hat, x_hat)[:, None] / d  # biased variance, no (n, d) temporary
        rstd = 1.0 / xp.sqrt(var + eps)  # (n, 1)
        x_hat *= rstd  # in place: x_hat was the centred copy
        ctx.save_for_backward(x_hat, rstd, weight)
        if weight is None:
            out = x_hat.copy() if bias is None else x_hat + bias  # never x_hat itself: backward may reuse it
        else:
            out = x_hat * weight
            if bias is not None:
                out += bias
        return out.reshape(x.shape)

    @staticmethod
    def backward(ctx, grad):
        x_hat, rstd, weight = ctx.saved_tensors
        xp, d = ctx.xp, x_hat.shape[-1]
        g = grad.reshape(-1, d)
        grad_w = xp.einsum("ij,ij->j", g, x_hat) if ctx.needs_grad(1) else None  # summed over rows here
        grad_b = g.sum(axis=0) if ctx.needs_grad(2) else None
        g_hat = g if weight is None else g * weight
        mean_g = row_sum(xp, g_hat) / d
        mean_gx = xp.einsum("ij,ij->i", g_hat, x_hat)[:, None] / d
        grad_x = x_hat if ctx.last_use else x_hat.copy()  # x_hat is this op's own array
        grad_x *= mean_gx
        grad_x += mean_g
        xp.subtract(g_hat, grad_x, out=grad_x)
        grad_x *= rstd
        return grad_x.reshape(grad.shape), grad_w, grad_b, None


class CrossEntropyInPlace(CrossEntropy):
    @staticmethod
    def softmax_and_loss(xp, x, t, valid, smoothing):
        """As the readable form, making one (N, C) array: shifted scores, turned in place into the softmax.

        Only log p at the targets and the mean of log p are needed, so log p
        itself is never built: log p = shifted - log(sum(exp(shifted))).
        """
        probs = x - x.max(axis=-1)[:, None]  # shifted, (N, C)
        target_shifted = probs[xp.arange(t.size), t]  # (N,)
        mean_shifted = row_sum(xp, probs)[:, 0] / x.shape[-1]  # (N,)
        xp.exp(probs, out=probs)
        total = row_sum(xp, probs)[:, 0]  # (N,)
        probs /= total[:, None]  # the softmax
        return probs, row_losses(xp, total, target_shifted, mean_shifted, valid, smoothing, x.dtype)

    @staticmethod
    def softmax_minus_target(ctx, probs, t, row_scale, smoothing):
        row_scale = row_scale[:, None]  # (N, 1)
        d = probs if ctx.last_use else probs.copy()  # the softmax is this op's own array
        d *= row_scale
        if smoothing:
            d -= row_scale * (smoothing / probs.shape[-1])
        d[ctx.xp.arange(t.size), t] -= (1.0 - smoothing) * row_scale[:, 0]
        return d


def row_losses(xp, total, target_shifted, mean_shifted, valid, smoothing, dtype):
    """Each row's loss from its sum of exponentials and shifted scores: log p = shifted - log(total).

    -(1 - s) log p_t - s mean_j log p_j; 0 where the target is not `valid`.
    """
    per_target = xp.log(total) - (1.0 - smoothing) * target_shifted - smoothing * mean_shifted
    return xp.where(valid, per_target, 0).astype(dtype, copy=False)
