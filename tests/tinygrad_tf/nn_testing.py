"""Helpers for the tinygrad_tf.nn tests: tiny models, NumPy references, gradient checks.

Everything here is independent of the code under test: the NumPy references
are written from the paper's formulas, and the gradient checks compare
backward with central finite differences.
"""
import contextlib
import math

import numpy as np

import autograd
from autograd import Tensor, gradcheck, no_grad
from autograd.gradcheck import numeric_gradient
from tinygrad_tf import nn

# Tiny sizes: every gradient check stays within a second or two on two cores.
D_MODEL, HEADS, D_FF, VOCAB = 8, 2, 16, 11
PAD = 0


def tiny_transformer(seed=0, norm_first=False, dropout=0.0, layers=2, dtype="float64", **kw):
    autograd.manual_seed(seed)
    model = nn.Transformer(
        VOCAB, VOCAB, d_model=D_MODEL, num_heads=HEADS, num_encoder_layers=layers,
        num_decoder_layers=layers, d_ff=D_FF, dropout=dropout, max_len=32, norm_first=norm_first,
        pad_id=PAD, **kw,
    )
    if dtype is not None:
        model.to(dtype=dtype)
    return model.eval() if dropout == 0.0 else model


def randomize(module, seed=0, scale=0.5):
    """Give every parameter (LayerNorm and biases included) random non-trivial values.

    Freshly built LayerNorms are ones/zeros and biases zero, which would hide a
    gradient or a parameter mixed up with another.
    """
    rng = np.random.default_rng(seed)
    for name, p in module.named_parameters():
        values = rng.normal(0.0, scale, size=p.shape)
        if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith("norm3.weight") \
                or name.endswith("norm.weight"):
            values = 1.0 + values
        p.data[...] = values.astype(p.dtype)
    return module


def src_tokens():
    """(2, 5) source ids; the second row has two padding positions at the end."""
    return Tensor(np.array([[3, 7, 2, 9, 4], [5, 1, 8, PAD, PAD]]))


def tgt_tokens():
    """(2, 4) target ids; the second row has one padding position at the end."""
    return Tensor(np.array([[1, 4, 6, 2], [1, 9, 3, PAD]]))


def np_causal(n):
    return np.tril(np.ones((n, n), dtype=bool))


def np_padding(tokens, pad=PAD):
    tokens = np.asarray(tokens)
    return (tokens != pad)[:, None, None, :]


# ---- NumPy references, from the paper ---------------------------------------

def np_softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(x - m)
    s = e.sum(axis=axis, keepdims=True)
    return e / np.where(s == 0, 1.0, s)


def np_linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k), masked) v and the weights; mask True = may attend."""
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = np_softmax(scores)
    return weights @ v, weights


def params_np(module):
    return {name: p.numpy() for name, p in module.named_parameters()}


def np_mha(P, prefix, query, key, value, heads, mask=None):
    """Multi-head attention from parameter arrays P[prefix + 'q_proj.weight'] etc."""
    def proj(name, x):
        return np_linear(x, P[prefix + name + ".weight"], P[prefix + name + ".bias"])

    batch, q_len, d = query.shape
    k_len, dk = key.shape[1], d // heads
    q = proj("q_proj", query).reshape(batch, q_len, heads, dk).transpose(0, 2, 1, 3)
    k = proj("k_proj", key).reshape(batch, k_len, heads, dk).transpose(0, 2, 1, 3)
    v = proj("v_proj", value).reshape(batch, k_len, heads, dk).transpose(0, 2, 1, 3)
    out, weights = np_attention(q, k, v, mask)
    out = out.transpose(0, 2, 1, 3).reshape(batch, q_len, d)
    return proj("out_proj", out), weights


def np_ffn(P, prefix, x):
    h = np.maximum(np_linear(x, P[prefix + "linear1.weight"], P[prefix + "linear1.bias"]), 0.0)
    return np_linear(h, P[prefix + "linear2.weight"], P[prefix + "linear2.bias"])


def _residual(x, sub, norm, norm_first):
    if norm_first:
        return x + sub(norm(x))
    return norm(x + sub(x))


def np_encoder_layer(P, x, heads, mask=None, norm_first=False, prefix=""):
    def norm(i):
        return lambda y: np_layer_norm(y, P[f"{prefix}norm{i}.weight"], P[f"{prefix}norm{i}.bias"])

    x = _residual(x, lambda y: np_mha(P, prefix + "self_attn.", y, y, y, heads, mask)[0], norm(1), norm_first)
    return _residual(x, lambda y: np_ffn(P, prefix + "feed_forward.", y), norm(2), norm_first)


def np_decoder_layer(P, x, memory, heads, src_mask=None, tgt_mask=None, norm_first=False, prefix=""):
    def norm(i):
        return lambda y: np_layer_norm(y, P[f"{prefix}norm{i}.weight"], P[f"{prefix}norm{i}.bias"])

    x = _residual(x, lambda y: np_mha(P, prefix + "self_attn.", y, y, y, heads, tgt_mask)[0], norm(1), norm_first)
    x = _residual(x, lambda y: np_mha(P, prefix + "cross_attn.", y, memory, memory, heads, src_mask)[0],
                  norm(2), norm_first)
    return _residual(x, lambda y: np_ffn(P, prefix + "feed_forward.", y), norm(3), norm_first)


def np_positional_table(max_len, d_model):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)), element by element."""
    table = np.zeros((max_len, d_model))
    for pos in range(max_len):
        for dim in range(d_model):
            i2 = dim - dim % 2  # the even index 2i this dimension belongs to
            angle = pos / 10000.0 ** (i2 / d_model)
            table[pos, dim] = math.sin(angle) if dim % 2 == 0 else math.cos(angle)
    return table


# ---- gradient checks -----------------------------------------------------------

def _owners(module, param):
    """(owner module, attribute) for every place `param` is registered (tied weights: several)."""
    return [(m, name) for m in module.modules() for name, p in m._parameters.items() if p is param]


@contextlib.contextmanager
def swapped_parameters(module, params, tensors):
    """Temporarily register `tensors` in place of `params` (every occurrence) inside `module`."""
    places = [(_owners(module, p), t) for p, t in zip(params, tensors)]
    try:
        for owners, t in places:
            for m, name in owners:
                m._parameters[name] = t
        yield
    finally:
        for (owners, _), p in zip(places, params):
            for m, name in owners:
                m._parameters[name] = p


def gradcheck_with_parameters(module, fn, inputs=(), names=None, **kw):
    """`autograd.gradcheck` over `inputs` AND the module's parameters (all, or those in `names`).

    gradcheck differentiates with respect to its inputs only, so the parameters
    are passed as extra inputs and swapped into the module while `fn` runs.
    `fn(*inputs)` must use the module.
    """
    named = [(n, p) for n, p in module.named_parameters() if names is None or n in names]
    assert named, "no parameter selected"
    params = [p for _, p in named]
    n_in = len(inputs)
    leaves = list(inputs) + [Tensor(p.numpy(), requires_grad=True, dtype=np.float64, device=p.device) for p in params]

    def wrapped(*args):
        with swapped_parameters(module, params, args[n_in:]):
            return fn(*args[:n_in])

    return gradcheck(wrapped, leaves, **kw)


def loss_weights(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def finite_difference_check(module, fn, per_param=3, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0, skip=None):
    """Compare every parameter's backward gradient with central differences on a few random elements.

    `fn()` returns the module's output; the loss is sum(w * out) with fixed
    random w. `skip(name, flat_index)` may exclude elements. Returns the
    number of elements checked.
    """
    out = fn()
    w = Tensor(loss_weights(out.shape, seed + 1), dtype=out.dtype, device=out.device)
    module.zero_grad()
    (out * w).sum().backward()
    w_np = w.numpy()

    def loss():
        with no_grad():
            return float((fn().numpy() * w_np).sum())

    rng = np.random.default_rng(seed)
    checked = 0
    failures = []
    for name, p in module.named_parameters():
        analytic = p.grad.numpy().reshape(-1) if p.grad is not None else np.zeros(p.size)
        flat = p.data.reshape(-1)  # a view (CPU parameters are contiguous): perturbing it perturbs p
        assert np.shares_memory(flat, p.data)
        indices = [int(j) for j in rng.choice(p.size, size=min(per_param, p.size), replace=False)
                   if skip is None or not skip(name, int(j))]
        for j, numeric in zip(indices, numeric_gradient(loss, p.data, eps, indices)):
            checked += 1
            if abs(analytic[j] - numeric) > atol + rtol * abs(numeric):
                failures.append(f"{name}[{np.unravel_index(j, p.shape)}]: analytic {analytic[j]:.10g}, numeric {numeric:.10g}")
    assert not failures, "parameter gradients disagree with finite differences:\n" + "\n".join(failures)
    return checked


def briefly_trained(task="copy", **config):
    """A Trainer whose model took `config["steps"]` optimizer steps on `task` (no checkpoints, no log), in eval mode."""
    from tinygrad_tf import TrainConfig, Trainer

    trainer = Trainer(TrainConfig.for_task(task, **config), log=lambda *a: None)
    for batch in trainer.batches():
        if trainer.step >= trainer.config.steps:
            break
        trainer.train_step(batch)
    trainer.model.eval()
    return trainer
