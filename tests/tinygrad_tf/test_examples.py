"""The walkthrough examples in examples/ run, and what they print is true.

Each example's main() returns its key values; these tests check them against
references computed here independently (NumPy in float64, the paper's
formulas, finite differences), never against numbers copied from a run.
"""
import importlib.util
import math
import os

import numpy as np
import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples")


def _run(filename):
    """Import examples/<filename> by path (the names start with digits) and return main()'s dict."""
    path = os.path.join(EXAMPLES, filename)
    spec = importlib.util.spec_from_file_location("example_" + filename[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main()


@pytest.fixture(scope="module")
def ex1():
    return _run("01_self_attention_by_hand.py")


@pytest.fixture(scope="module")
def ex2():
    return _run("02_multi_head_attention.py")


@pytest.fixture(scope="module")
def ex3():
    return _run("03_positional_encoding.py")


@pytest.fixture(scope="module")
def ex4():
    return _run("04_residual_and_layer_norm.py")


@pytest.fixture(scope="module")
def ex5():
    return _run("05_decoder_masking.py")


@pytest.fixture(scope="module")
def ex6():
    return _run("06_encoder_decoder_attention.py")


def np_softmax(x, axis=-1):
    """Softmax in float64 where -inf entries get weight 0."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def f64(a):
    return np.asarray(a, dtype=np.float64)


# ---- 01: self-attention by hand ---------------------------------------------
def test_self_attention_steps_match_numpy(ex1):
    X, W_Q, W_K, W_V = (f64(ex1[k]) for k in ("X", "W_Q", "W_K", "W_V"))
    Q, K, V = X @ W_Q, X @ W_K, X @ W_V
    scores = Q @ K.T
    scaled = scores / math.sqrt(Q.shape[-1])
    weights = np_softmax(scaled)
    output = weights @ V
    assert X.shape == (4, 4) and len(ex1["words"]) == 4
    for name, ref in (("Q", Q), ("K", K), ("V", V), ("scores", scores), ("scaled_scores", scaled),
                      ("weights", weights), ("output", output)):
        np.testing.assert_allclose(ex1[name], ref, rtol=1e-5, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(ex1["weights"].sum(axis=-1), 1.0, atol=1e-6)


def test_self_attention_equals_one_head_module(ex1):
    np.testing.assert_allclose(ex1["mha_output"], ex1["output"], atol=1e-5)
    np.testing.assert_allclose(ex1["mha_weights"], ex1["weights"], atol=1e-6)
    assert ex1["same_output"] and ex1["same_weights"]


# ---- 02: multi-head attention ------------------------------------------------
def test_multi_head_attention_matches_numpy(ex2):
    X = f64(ex2["X"])
    Q = X @ f64(ex2["W_Q"]) + f64(ex2["b_Q"])
    K = X @ f64(ex2["W_K"]) + f64(ex2["b_K"])
    V = X @ f64(ex2["W_V"]) + f64(ex2["b_V"])
    heads, weights = [], []
    for i in range(8):
        cols = slice(64 * i, 64 * (i + 1))
        w = np_softmax(Q[:, cols] @ K[:, cols].T / 8.0)
        weights.append(w)
        heads.append(w @ V[:, cols])
    concat = np.concatenate(heads, axis=-1)
    output = concat @ f64(ex2["W_O"]) + f64(ex2["b_O"])

    assert X.shape == (5, 512)
    assert ex2["head_outputs"].shape == (8, 5, 64) and ex2["head_weights"].shape == (8, 5, 5)
    assert ex2["concat"].shape == (5, 512) and ex2["output"].shape == (5, 512)
    np.testing.assert_allclose(ex2["head_weights"], np.stack(weights), atol=1e-5)
    np.testing.assert_allclose(ex2["head_outputs"], np.stack(heads), atol=1e-4)
    np.testing.assert_allclose(ex2["concat"], concat, atol=1e-4)
    np.testing.assert_allclose(ex2["output"], output, atol=1e-4)
    np.testing.assert_allclose(ex2["mha_output"], output, atol=1e-4)
    np.testing.assert_allclose(ex2["mha_weights"], np.stack(weights), atol=1e-5)
    # the concatenation is the heads side by side
    for i in range(8):
        np.testing.assert_array_equal(ex2["concat"][:, 64 * i:64 * (i + 1)], ex2["head_outputs"][i])
    assert ex2["same_output"] and ex2["same_weights"]


# ---- 03: positional encoding -------------------------------------------------
def test_positional_table_follows_the_formula(ex3):
    table = f64(ex3["table"])
    assert table.shape == (20, 512)
    pos = np.arange(20)[:, None]
    two_i = np.arange(0, 512, 2)[None, :]
    angle = pos / np.power(10000.0, two_i / 512)
    np.testing.assert_allclose(table[:, 0::2], np.sin(angle), atol=1e-6)
    np.testing.assert_allclose(table[:, 1::2], np.cos(angle), atol=1e-6)
    np.testing.assert_allclose(ex3["sin_half"], np.sin(angle), atol=1e-6)
    np.testing.assert_allclose(ex3["cos_half"], np.cos(angle), atol=1e-6)
    np.testing.assert_allclose(table, ex3["sinusoid_table"], atol=1e-6)
    assert table.min() >= -1.0 and table.max() <= 1.0
    np.testing.assert_allclose(ex3["sin_half"] ** 2 + ex3["cos_half"] ** 2, 1.0, atol=1e-5)
    assert ex3["same_as_function"] and ex3["matches_formula"]


def test_positional_offset_is_a_rotation(ex3):
    k = ex3["offset"]
    w = 1.0 / np.power(10000.0, np.arange(0, 512, 2) / 512)
    sin_half, cos_half = f64(ex3["sin_half"]), f64(ex3["cos_half"])
    np.testing.assert_allclose(np.cos(w * k) * sin_half[:-k] + np.sin(w * k) * cos_half[:-k], sin_half[k:], atol=1e-5)
    np.testing.assert_allclose(-np.sin(w * k) * sin_half[:-k] + np.cos(w * k) * cos_half[:-k], cos_half[k:], atol=1e-5)
    assert ex3["rotation_holds"]


# ---- 04: residual and layer norm ---------------------------------------------
def _layer_norm(z, weight, bias, eps):
    mu = z.mean(-1, keepdims=True)
    rstd = 1.0 / np.sqrt(((z - mu) ** 2).mean(-1, keepdims=True) + eps)
    x_hat = (z - mu) * rstd
    return x_hat * weight + bias, x_hat, rstd


def _layer_norm_backward(g, x_hat, rstd, weight):
    gh = g * weight
    return rstd * (gh - gh.mean(-1, keepdims=True) - x_hat * (gh * x_hat).mean(-1, keepdims=True))


def _stack_input_grad(x, upstream, layers, residual, norm_weight, norm_bias, eps):
    """Forward and backward in float64 through [(W, b), ...] sublayers with LayerNorm(x + f(x)) or LayerNorm(f(x))."""
    caches, h = [], x
    for W, b in layers:
        z = h + (h @ W.T + b) if residual else h @ W.T + b
        h, x_hat, rstd = _layer_norm(z, norm_weight, norm_bias, eps)
        caches.append((W, x_hat, rstd))
    g = upstream
    for W, x_hat, rstd in reversed(caches):
        gz = _layer_norm_backward(g, x_hat, rstd, norm_weight)
        g = gz + gz @ W if residual else gz @ W
    return g


def test_residual_gradients_match_numpy_reference(ex4):
    x, up = f64(ex4["x"]), f64(ex4["upstream"])
    W, b = f64(ex4["sublayer_weight"]), f64(ex4["sublayer_bias"])
    nw, nb, eps = f64(ex4["norm_weight"]), f64(ex4["norm_bias"]), ex4["eps"]
    with_res = _stack_input_grad(x, up, [(W, b)], True, nw, nb, eps)
    without = _stack_input_grad(x, up, [(W, b)], False, nw, nb, eps)
    np.testing.assert_allclose(ex4["grad_with_residual"], with_res, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(ex4["grad_without_residual"], without, rtol=1e-3, atol=1e-9)

    # and the reference itself agrees with central differences of the forward
    def loss(xv, residual):
        z = xv + (xv @ W.T + b) if residual else xv @ W.T + b
        return float((_layer_norm(z, nw, nb, eps)[0] * up).sum())

    h = 1e-6
    for residual, ref in ((True, with_res), (False, without)):
        fd = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            dx = np.zeros_like(x)
            dx[idx] = h
            fd[idx] = (loss(x + dx, residual) - loss(x - dx, residual)) / (2 * h)
        np.testing.assert_allclose(fd, ref, rtol=1e-4, atol=1e-9)


def test_residual_path_carries_the_gradient(ex4):
    with_norm = np.linalg.norm(ex4["grad_with_residual"])
    without_norm = np.linalg.norm(ex4["grad_without_residual"])
    sublayer_norm = np.linalg.norm(ex4["sublayer_weight"], 2)
    assert sublayer_norm < 1e-5  # the sublayer's own Jacobian really is tiny
    assert with_norm > 100 * without_norm
    # with the residual, the gradient is what LayerNorm(x) alone would pass back
    np.testing.assert_allclose(ex4["grad_with_residual"], ex4["grad_layer_norm_only"], rtol=1e-4, atol=1e-5)
    assert with_norm > 0.1 * np.linalg.norm(ex4["upstream"])


def test_residual_stack_of_six(ex4):
    x, up = f64(ex4["x"]), f64(ex4["upstream"])
    nw, nb, eps = f64(ex4["norm_weight"]), f64(ex4["norm_bias"]), ex4["eps"]
    layers = [(f64(W), f64(b)) for W, b in ex4["stack_weights"]]
    assert len(layers) == 6
    with_res = _stack_input_grad(x, up, layers, True, nw, nb, eps)
    without = _stack_input_grad(x, up, layers, False, nw, nb, eps)
    np.testing.assert_allclose(ex4["grad_stack_with_residual"], with_res, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ex4["grad_stack_without_residual"]), np.linalg.norm(without), rtol=1e-2)
    assert np.linalg.norm(ex4["grad_stack_with_residual"]) > 1e10 * np.linalg.norm(ex4["grad_stack_without_residual"])


# ---- 05: decoder masking -----------------------------------------------------
def test_causal_mask_and_masked_scores(ex5):
    n = len(ex5["target"])
    assert n == 4
    allowed = np.tril(np.ones((n, n), dtype=bool))
    assert ex5["mask"].dtype == np.bool_
    np.testing.assert_array_equal(ex5["mask"], allowed)
    X, W_Q, W_K = f64(ex5["X"]), f64(ex5["W_Q"]), f64(ex5["W_K"])
    scores = (X @ W_Q) @ (X @ W_K).T / math.sqrt(X.shape[-1])
    np.testing.assert_allclose(ex5["scores"], scores, rtol=1e-5, atol=1e-5)
    masked = ex5["masked_scores"]
    assert np.all(np.isneginf(masked[~allowed]))
    np.testing.assert_allclose(masked[allowed], scores[allowed], rtol=1e-5, atol=1e-5)


def test_causal_weights(ex5):
    n = len(ex5["target"])
    allowed = np.tril(np.ones((n, n), dtype=bool))
    X, W_Q, W_K = f64(ex5["X"]), f64(ex5["W_Q"]), f64(ex5["W_K"])
    scores = (X @ W_Q) @ (X @ W_K).T / math.sqrt(X.shape[-1])
    ref = np_softmax(np.where(allowed, scores, -np.inf))
    w = ex5["weights"]
    assert np.all(w[~allowed] == 0.0)  # exactly zero, not just small
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(w, ref, atol=1e-6)
    np.testing.assert_allclose(w[0], [1.0, 0.0, 0.0, 0.0], atol=1e-7)
    assert ex5["upper_triangle_zero"]
    mw = ex5["mha_weights"]  # (heads, 4, 4)
    assert mw.shape[-2:] == (n, n)
    assert np.all(mw[:, ~allowed] == 0.0)
    np.testing.assert_allclose(mw.sum(axis=-1), 1.0, atol=1e-6)


def test_changing_the_last_word_leaves_earlier_outputs(ex5):
    out, changed = ex5["output"], ex5["output_changed"]
    np.testing.assert_allclose(changed[:-1], out[:-1], rtol=0, atol=1e-6)
    assert np.abs(changed[-1] - out[-1]).max() > 1e-3


# ---- 06: encoder-decoder attention -------------------------------------------
def test_cross_attention_weights_shape_and_padding(ex6):
    w = ex6["cross_weights"]
    src_len, tgt_len, heads = len(ex6["source"]), len(ex6["target"]), ex6["num_heads"]
    assert w.shape == (1, heads, tgt_len, src_len)
    assert src_len != tgt_len  # a real rectangle: target rows, source columns
    pad = ex6["pad_column"]
    assert ex6["source"][pad] == "<pad>"
    np.testing.assert_array_equal(ex6["src_mask"].ravel(), [word != "<pad>" for word in ex6["source"]])
    assert np.all(w[..., pad] == 0.0)  # exactly zero
    assert np.all(np.delete(w, pad, axis=-1) > 0.0)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-6)
    assert ex6["pad_weight_zero"]


def test_cross_attention_recomputed_from_queries_and_keys(ex6):
    heads = ex6["num_heads"]
    states, memory = f64(ex6["decoder_states"])[0], f64(ex6["memory"])[0]  # (tgt_len, d), (src_len, d)
    Q = states @ f64(ex6["q_proj_weight"]).T + f64(ex6["q_proj_bias"])  # queries from the decoder
    K = memory @ f64(ex6["k_proj_weight"]).T + f64(ex6["k_proj_bias"])  # keys from the encoder
    d = Q.shape[-1]
    d_k = d // heads
    keep = ex6["src_mask"].ravel()
    ref = []
    for h in range(heads):
        cols = slice(h * d_k, (h + 1) * d_k)
        scores = Q[:, cols] @ K[:, cols].T / math.sqrt(d_k)
        ref.append(np_softmax(np.where(keep[None, :], scores, -np.inf)))
    ref = np.stack(ref)[None]
    np.testing.assert_allclose(ex6["cross_weights"], ref, atol=1e-5)
    np.testing.assert_allclose(ex6["by_hand_weights"], ref, atol=1e-5)
    assert ex6["same_weights"]


def test_padded_memory_cannot_reach_the_decoder(ex6):
    np.testing.assert_allclose(ex6["output_pad_changed"], ex6["output"], rtol=0, atol=1e-6)
    assert np.abs(ex6["output_real_changed"] - ex6["output"]).max() > 1e-3
