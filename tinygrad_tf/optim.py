"""Optimizers (SGD, Adam), the paper's learning-rate schedule, and gradient clipping.

Updates work on the parameters' backend arrays in place, under no gradient
recording, and never copy between host and device.
"""
import math

import numpy as np

import ops
from autograd import Tensor, backend, cpu_kernels, cuda_kernels

# On the CPU Adam updates a parameter in pieces of this many elements, so that
# its passes work in cache instead of streaming whole arrays through memory each time.
ADAM_CHUNK = 32768


class Optimizer:
    """Holds the parameters and their per-parameter state; `step()` applies one update."""

    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.lr = lr
        self.state = [{} for _ in self.params]
        self.steps = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.steps += 1
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p.data, p.grad.data, state, backend.xp_for(p.device))
                p.bump_version()  # in place: a graph that saved p can no longer be backpropagated

    def _update(self, param, grad, state, xp):
        raise NotImplementedError

    def state_dict(self):
        """Scalars, per-parameter counts (ints) and per-parameter arrays (as NumPy), in parameter order."""
        entries = [(f"{i}.{k}", v) for i, s in enumerate(self.state) for k, v in s.items()]
        arrays = {key: backend.to_numpy(v) for key, v in entries if not isinstance(v, int)}
        counts = {key: v for key, v in entries if isinstance(v, int)}
        return {"lr": self.lr, "steps": self.steps, "counts": counts, "arrays": arrays}

    def load_state_dict(self, state):
        self.lr, self.steps = state["lr"], state["steps"]
        self.state = [{} for _ in self.params]
        for key, value in state.get("counts", {}).items():  # absent from state saved before the counts
            i, name = self._slot(key)
            self.state[i][name] = int(value)
        for key, value in state["arrays"].items():
            i, name = self._slot(key)
            p = self.params[i]
            if tuple(np.shape(value)) != p.shape:
                raise ValueError(f"optimizer state {key} has shape {np.shape(value)}, parameter has {p.shape}")
            self.state[i][name] = backend.move(np.array(value, dtype=p.dtype), p.device)  # a copy: updates are in place

    def _slot(self, key):
        """(parameter index, state name) of a state_dict key such as "3.m"."""
        i, name = key.split(".", 1)
        if not 0 <= int(i) < len(self.params):
            raise ValueError(f"optimizer state has an entry for parameter {i} but the model has {len(self.params)}")
        return int(i), name


class SGD(Optimizer):
    """p -= lr * (g + weight_decay * p), with optional (heavy-ball) momentum."""

    def __init__(self, params, lr=0.01, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay

    def _update(self, param, grad, state, xp):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if self.momentum:
            buf = state.get("momentum")
            state["momentum"] = buf = grad.copy() if buf is None else buf * self.momentum + grad
            grad = buf
        param -= self.lr * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba), with `torch.optim.Adam`'s defaults and per-parameter step counts.

    The Transformer paper trains with betas=(0.9, 0.98), eps=1e-9 (what
    `Trainer` passes). Each parameter counts its own steps, as in PyTorch: one
    that first gets a gradient at step 5 is bias-corrected as on its first step.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self._buffers = {}

    def _update(self, param, grad, state, xp):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if "m" not in state:
            state["m"], state["v"], state["step"] = xp.zeros_like(param), xp.zeros_like(param), 0
        state["step"] += 1
        if not ops.fast.is_enabled():
            self._readable_update(param, grad, state, xp)
            return
        b1, b2 = self.betas
        correction2 = math.sqrt(1 - b2 ** state["step"])
        step_size = self.lr * correction2 / (1 - b1 ** state["step"])
        eps = self.eps * correction2
        arrays = (param, grad, state["m"], state["v"])
        if cuda_kernels.applies(xp, param):  # one fused kernel on the GPU
            cuda_kernels.adam_update(xp, param, grad, state["m"], state["v"], b1, b2, step_size, eps)
            return
        contiguous = all(a.flags.c_contiguous for a in arrays)
        if contiguous and cpu_kernels.applies(xp, *arrays):  # one compiled pass
            scalar = param.dtype.type
            cpu_kernels.load().adam_update(*(a.reshape(-1) for a in arrays), scalar(b1), scalar(1 - b1), scalar(b2),
                                           scalar(1 - b2), scalar(step_size), scalar(eps))
            return
        if xp is not np or not contiguous:
            self._update_piece(*arrays, self._scratch(param.size, param.dtype, xp), step_size, eps, xp)
            return
        flat = [a.reshape(-1) for a in arrays]  # views: the updates land in the arrays
        scratch = self._scratch(min(param.size, ADAM_CHUNK), param.dtype, xp)
        for start in range(0, param.size, ADAM_CHUNK):
            piece = slice(start, start + ADAM_CHUNK)
            p, g, m, v = (a[piece] for a in flat)
            self._update_piece(p, g, m, v, scratch[: p.size], step_size, eps, xp)

    def load_state_dict(self, state):
        super().load_state_dict(state)
        for s in self.state:
            if "m" in s and "step" not in s:  # saved before per-parameter counts: it took every step
                s["step"] = self.steps

    def _readable_update(self, param, grad, state, xp):
        """Algorithm 1 of the Adam paper, line by line: what runs unless `ops.fast` is on."""
        b1, b2, t = self.betas[0], self.betas[1], state["step"]
        state["m"] = m = b1 * state["m"] + (1 - b1) * grad  # moving average of the gradient
        state["v"] = v = b2 * state["v"] + (1 - b2) * grad * grad  # ... and of its square
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)  # both start at 0: corrected for that bias
        param -= self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)

    def _update_piece(self, param, grad, m, v, scratch, step_size, eps, xp):
        """One Adam update, every pass in place on m, v, param and a scratch array."""
        b1, b2 = self.betas
        scratch = xp.multiply(grad, 1 - b1, out=scratch.reshape(param.shape))
        m *= b1  # m <- b1 m + (1 - b1) g
        m += scratch
        xp.multiply(grad, grad, out=scratch)
        scratch *= 1 - b2
        v *= b2  # v <- b2 v + (1 - b2) g^2
        v += scratch
        denom = xp.sqrt(v, out=scratch)
        denom += eps
        update = xp.divide(m, denom, out=denom)
        update *= step_size
        param -= update

    def _scratch(self, size, dtype, xp):
        """A flat scratch array of `size` elements: a view of one growing buffer per dtype and device."""
        key = (np.dtype(dtype), xp.__name__)
        buffer = self._buffers.get(key)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[key] = xp.empty(size, dtype=dtype)
        return buffer[:size]


# How the rate falls after warm-up: the paper's 1/sqrt(step), or a straight line to (almost) zero at the last step.
DECAYS = ("inverse_sqrt", "linear")


class NoamSchedule:
    """The paper's rate: factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5).

    It rises linearly for `warmup` steps to its peak, factor * (d_model *
    warmup)^-0.5, then decays as 1/sqrt(step) (`decay="inverse_sqrt"`, the
    paper's). With `decay="linear"` it falls instead in a straight line from
    the peak to peak / (total_steps - warmup + 1) at step `total_steps` (the
    last update is still a small one); beyond `total_steps` it stays there.
    A short run ends with small, careful updates that way, where 1/sqrt(step)
    would still be at about half its peak. Call `step()` before each
    optimizer step; it sets `optimizer.lr`.
    """

    def __init__(self, optimizer, d_model, warmup=4000, factor=1.0, decay="inverse_sqrt", total_steps=None):
        if decay not in DECAYS:
            raise ValueError(f"decay: expected one of {', '.join(DECAYS)}, got {decay!r}")
        if decay == "linear" and total_steps is None:
            raise ValueError("decay='linear' needs total_steps: the step at which the line ends")
        self.optimizer, self.d_model, self.warmup, self.factor = optimizer, d_model, warmup, factor
        self.decay, self.total_steps = decay, total_steps
        self.steps = 0

    def rate(self, step):
        step = max(step, 1)
        scale = self.factor * self.d_model**-0.5
        if step <= self.warmup or self.decay == "inverse_sqrt":
            return scale * min(step**-0.5, step * self.warmup**-1.5)
        remaining = max(self.total_steps - step + 1, 1)  # updates left, this one included
        return scale * self.warmup**-0.5 * min(remaining / max(self.total_steps - self.warmup + 1, 1), 1.0)

    def step(self):
        self.steps += 1
        self.optimizer.lr = self.rate(self.steps)
        return self.optimizer.lr

    def state_dict(self):
        return {"steps": self.steps, "d_model": self.d_model, "warmup": self.warmup, "factor": self.factor,
                "decay": self.decay, "total_steps": self.total_steps}

    def load_state_dict(self, state):
        self.steps, self.d_model, self.warmup, self.factor = state["steps"], state["d_model"], state["warmup"], state["factor"]
        # saved before the decay could be chosen: the paper's; a run resumed with more steps stretches its line
        self.decay = state.get("decay", "inverse_sqrt")
        self.total_steps = self.total_steps if self.total_steps is not None else state.get("total_steps")


def clip_grad_norm(params, max_norm):
    """Scale all gradients together so their global L2 norm is at most `max_norm`.

    Returns:
        The norm before clipping, as a 0-d backend array (no host sync).
    """
    params = [p for p in params if p.grad is not None]
    if not params:
        return 0.0
    xp = backend.xp_for(params[0].device)
    total = xp.sqrt(sum(_squared_norm(xp, p.grad.data) for p in params))
    scale = xp.minimum(1.0, max_norm / (total + 1e-6))
    if xp is np and scale >= 1.0:  # nothing to scale (on a GPU, asking would wait for it)
        return total
    for p in params:  # new arrays: one gradient array may be shared by several tensors
        p.grad = Tensor._wrap(p.grad.data * scale.astype(p.grad.dtype))
    return total


def _squared_norm(xp, g):
    """The sum of g's squares, at least in float32: for NumPy float32/float64 one BLAS dot, no temporaries."""
    if xp is np and g.dtype in (np.float32, np.float64):
        flat = g.reshape(-1)
        return np.dot(flat, flat)
    g = g.astype(np.promote_types(g.dtype, np.float32), copy=False)
    return (g * g).sum()
