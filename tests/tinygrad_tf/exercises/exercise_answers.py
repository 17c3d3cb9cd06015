"""Typical wrong answers to each exercise, made from its reference solution by one edit each.

Each entry: (what the mistake is, the solution's text, what it is replaced by,
the op of the first wrong node the report must name, or None where no node is
to blame: a forward piece, or a mistake the model run never reaches).
"""
import os

from tinygrad_tf.exercises import EXERCISES

WRONG = {
    "matmul": [
        ("dA scaled twice", "da = dc @ np.swapaxes(b, -1, -2)", "da = 2 * dc @ np.swapaxes(b, -1, -2)", "matmul"),
        ("B not transposed in dA", "da = dc @ np.swapaxes(b, -1, -2)", "da = dc @ b", "matmul"),
        ("dB transposed the wrong way", "db = np.swapaxes(a, -1, -2) @ dc", "db = np.swapaxes(dc, -1, -2) @ a", "matmul"),
        ("broadcast axes not summed", "return summed_to(da, a.shape), summed_to(db, b.shape)", "return da, db", None),
    ],
    "softmax": [
        ("the − Σ dy·y term missing", "return y * (dy - (dy * y).sum(axis=axis, keepdims=True))", "return y * dy",
         "softmax"),
        ("the sum over the wrong axis", "(dy * y).sum(axis=axis, keepdims=True)", "(dy * y).sum(axis=0, keepdims=True)",
         "softmax"),
        ("the sum without y", "(dy * y).sum(axis=axis, keepdims=True)", "dy.sum(axis=axis, keepdims=True)", "softmax"),
    ],
    "layer_norm": [
        ("the x̂ term missing", " - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True))", ")", "layer_norm"),
        ("the weight left out of dx", "g_hat = dy * weight", "g_hat = dy", "layer_norm"),
        ("the unbiased variance", "rstd = 1 / np.sqrt((centered ** 2).mean(axis=-1, keepdims=True) + eps)",
         "rstd = 1 / np.sqrt((centered ** 2).sum(axis=-1, keepdims=True) / (x.shape[-1] - 1) + eps)", "layer_norm"),
        ("dweight from x, not x̂", "(dy * x_hat).sum(axis=rows)", "(dy * x).sum(axis=rows)", "layer_norm"),
    ],
    "cross_entropy": [
        ("label smoothing spread over C − 1 classes", "np.full_like(p, label_smoothing / classes)",
         "np.full_like(p, label_smoothing / (classes - 1))", "cross_entropy"),
        ("the mean over every row, ignored ones too", "/ max(counts.sum(), 1)", "/ t.size", "cross_entropy"),
        ("ignored rows not zeroed", "(p - q) * counts[:, None]", "(p - q)", "cross_entropy"),
        ("no mean at all", "/ max(counts.sum(), 1)", "", "cross_entropy"),
    ],
    "attention": [
        ("the mask read backwards", "ops.where(mask, scores, -math.inf)", "ops.where(mask, -math.inf, scores)", None),
        ("no 1/√d_k", " / math.sqrt(q.shape[-1])", "", None),
        ("softmax over the queries", "ops.softmax(scores, axis=-1)", "ops.softmax(scores, axis=-2)", None),
    ],
    "positional_encoding": [
        ("sines and cosines swapped", "table[:, 0::2] = np.sin(angles)", "table[:, 0::2] = np.cos(angles)", None),
        ("the exponent i / d, not 2i / d", "np.arange(0, d_model, 2) / d_model", "np.arange(0, d_model // 2 + d_model % 2) / d_model",
         None),
        ("pos times the frequency's inverse", "position / 10000 **", "position * 10000 **", None),
    ],
    "causal_mask": [
        ("read backwards (the future may be seen)", "np.arange(n)[None, :] <= np.arange(n)[:, None]",
         "np.arange(n)[None, :] >= np.arange(n)[:, None]", None),
        ("hides the word itself", "np.arange(n)[None, :] <= np.arange(n)[:, None]",
         "np.arange(n)[None, :] < np.arange(n)[:, None]", None),
        ("ones and zeros, not booleans", "return np.arange(n)[None, :] <= np.arange(n)[:, None]",
         "return (np.arange(n)[None, :] <= np.arange(n)[:, None]).astype(int)", None),
    ],
    "adam": [
        ("no bias correction", "m_hat = m / (1 - beta1 ** t)\n    v_hat = v / (1 - beta2 ** t)",
         "m_hat = m\n    v_hat = v", None),
        ("eps inside the square root", "(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)", None),
        ("t counted from 0", "m_hat = m / (1 - beta1 ** t)\n    v_hat = v / (1 - beta2 ** t)",
         "m_hat = m / (1 - beta1 ** (t + 1))\n    v_hat = v / (1 - beta2 ** (t + 1))", None),
        ("v from g, not g²", "(1 - beta2) * grad ** 2", "(1 - beta2) * np.abs(grad)", None),
    ],
}


def wrong_answer(name, old, new):
    """The reference solution of `name` with `old` replaced by `new` (which must be there exactly once)."""
    solution = EXERCISES[name].solution
    assert solution.count(old) == 1, f"{name}: {old!r} is not once in the solution"
    return solution.replace(old, new)


def write(directory, name, text):
    """Write `text` as directory/NAME.py; returns the path."""
    path = os.path.join(str(directory), f"{name}.py")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path
