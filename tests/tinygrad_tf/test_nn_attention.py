"""Scaled dot-product and multi-head attention, encoder and decoder layers, against NumPy."""
import math

import numpy as np
import pytest

from autograd import Tensor
from tinygrad_tf import nn

from nn_testing import (
    D_FF, D_MODEL, HEADS, np_attention, np_causal, np_decoder_layer, np_encoder_layer, np_mha,
    params_np, randomize,
)


def f64(a, device="cpu", requires_grad=False):
    return Tensor(np.asarray(a), dtype="float64", device=device, requires_grad=requires_grad)


def mha(d_model=D_MODEL, heads=HEADS, seed=0, device="cpu"):
    m = nn.MultiHeadAttention(d_model, heads, dropout=0.0).to(dtype="float64")
    return randomize(m, seed).to(device)


# ---- scaled dot-product attention ------------------------------------------------

def test_scaled_dot_product_attention_matches_numpy(device):
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 3, 6, 7))
    mask = rng.random((2, 1, 4, 6)) > 0.3
    mask[..., 0] = True
    for m in (None, mask):
        out, weights = nn.scaled_dot_product_attention(
            f64(q, device), f64(k, device), f64(v, device), None if m is None else Tensor(m, device=device))
        ref_out, ref_w = np_attention(q, k, v, m)
        assert out.shape == (2, 3, 4, 7) and weights.shape == (2, 3, 4, 6)
        np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(weights.numpy(), ref_w, rtol=1e-10, atol=1e-12)


def test_attention_scales_by_sqrt_dk():
    # One query, two keys: the weight ratio is exp((s1 - s2) / sqrt(d_k)).
    d = 16
    q = np.zeros((1, d)); q[0, 0] = 1.0
    k = np.zeros((2, d)); k[0, 0] = 8.0
    v = np.eye(2, d)
    _, w = nn.scaled_dot_product_attention(f64(q), f64(k), f64(v))
    np.testing.assert_allclose(w.numpy()[0, 0] / w.numpy()[0, 1], math.exp(8.0 / math.sqrt(d)), rtol=1e-12)


def test_fully_masked_query_row_gives_zero_weights_and_no_nan():
    rng = np.random.default_rng(1)
    q = f64(rng.standard_normal((1, 3, 4)), requires_grad=True)
    k = f64(rng.standard_normal((1, 5, 4)), requires_grad=True)
    v = f64(rng.standard_normal((1, 5, 4)), requires_grad=True)
    mask = np.ones((1, 3, 5), dtype=bool)
    mask[0, 1] = False  # query 1 may attend nothing
    out, w = nn.scaled_dot_product_attention(q, k, v, Tensor(mask))
    assert np.all(w.numpy()[0, 1] == 0) and np.all(out.numpy()[0, 1] == 0)
    np.testing.assert_allclose(w.numpy()[0, [0, 2]].sum(-1), 1.0)
    (out * f64(rng.standard_normal(out.shape))).sum().backward()
    for t in (q, k, v):
        assert np.all(np.isfinite(t.grad.numpy()))
    assert np.all(q.grad.numpy()[0, 1] == 0)


def test_mask_that_does_not_broadcast_is_a_clear_error():
    x = f64(np.ones((1, 2, 3, 4)))
    with pytest.raises(ValueError, match="mask"):
        nn.scaled_dot_product_attention(x, x, x, Tensor(np.ones((2, 2), dtype=bool)))


# ---- multi-head attention -----------------------------------------------------------

def test_mha_children_and_d_model_not_divisible_by_heads():
    m = nn.MultiHeadAttention(12, 3)
    assert m.d_k == 4
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        child = getattr(m, name)
        assert isinstance(child, nn.Linear) and child.weight.shape == (12, 12)
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiHeadAttention(10, 3)


@pytest.mark.parametrize("q_len,k_len", [(4, 4), (3, 6), (5, 2)])
def test_mha_matches_numpy_including_cross_attention(q_len, k_len, device):
    m = mha(device=device)
    rng = np.random.default_rng(q_len * 10 + k_len)
    query = rng.standard_normal((2, q_len, D_MODEL))
    key = rng.standard_normal((2, k_len, D_MODEL))
    value = rng.standard_normal((2, k_len, D_MODEL))
    mask = np.ones((2, 1, 1, k_len), dtype=bool)
    mask[1, ..., -1] = False
    out = m(f64(query, device), f64(key, device), f64(value, device), Tensor(mask, device=device))
    ref, ref_w = np_mha(params_np(m), "", query, key, value, HEADS, mask)
    assert out.shape == (2, q_len, D_MODEL)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)
    w = m.attention_weights
    assert w.shape == (2, HEADS, q_len, k_len)
    assert not w.requires_grad
    np.testing.assert_allclose(w.numpy(), ref_w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy().sum(-1), 1.0, rtol=1e-12)
    assert np.all(w.numpy()[1, ..., -1] == 0)


def test_mha_heads_see_their_own_slice():
    # Changing the part of the query projection that belongs to head 1 leaves head 0's weights alone.
    m = mha()
    x = f64(np.random.default_rng(0).standard_normal((1, 4, D_MODEL)))
    m(x, x, x)
    before = m.attention_weights.numpy()
    m.q_proj.weight.data[D_MODEL // HEADS:] += 1.0
    m(x, x, x)
    after = m.attention_weights.numpy()
    np.testing.assert_array_equal(after[:, 0], before[:, 0])
    assert not np.allclose(after[:, 1], before[:, 1])


def test_mha_keeps_the_last_weights():
    m = mha()
    rng = np.random.default_rng(0)
    m(f64(rng.standard_normal((1, 2, D_MODEL))), f64(rng.standard_normal((1, 3, D_MODEL))),
      f64(rng.standard_normal((1, 3, D_MODEL))))
    assert m.attention_weights.shape == (1, HEADS, 2, 3)
    x = f64(rng.standard_normal((3, 5, D_MODEL)))
    m(x, x, x)
    assert m.attention_weights.shape == (3, HEADS, 5, 5)


def test_mha_runs_the_attention_set_on_the_instance():
    """`mha.attention = fn` runs fn in that module only (the exercises run the learner's attention so);
    a function returning the output alone leaves no weights."""
    m, other = mha(seed=1), mha(seed=1)
    x = f64(np.random.default_rng(2).standard_normal((2, 3, D_MODEL)))
    expected = m(x, x, x).numpy()
    calls = []

    def doubled(q, k, v, mask=None, dropout=None):
        calls.append(q.shape)
        return nn.attention.scaled_dot_product_attention(q, k, v, mask)[0] * 2.0

    m.attention = doubled
    out = m(x, x, x).numpy()
    assert calls == [(2, HEADS, 3, D_MODEL // HEADS)] and m.attention_weights is None
    np.testing.assert_allclose(other(x, x, x).numpy(), expected)  # another instance keeps its own
    assert not np.allclose(out, expected)
    del m.attention
    np.testing.assert_allclose(m(x, x, x).numpy(), expected)
    assert m.attention_weights is not None


def test_mha_rejects_inputs_of_the_wrong_width():
    m = mha()
    x = f64(np.ones((1, 2, D_MODEL)))
    with pytest.raises(ValueError, match="key"):
        m(x, f64(np.ones((1, 2, D_MODEL + 1))), x)
    with pytest.raises(ValueError, match="query"):
        m(f64(np.ones((2, D_MODEL))), x, x)


def test_mha_with_one_head_is_plain_attention_on_projections():
    m = mha(heads=1)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 4, D_MODEL))
    P = params_np(m)
    q, k, v = (x @ P[f"{n}_proj.weight"].T + P[f"{n}_proj.bias"] for n in "qkv")
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(D_MODEL)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    expected = (w @ v) @ P["out_proj.weight"].T + P["out_proj.bias"]
    np.testing.assert_allclose(m(f64(x), f64(x), f64(x)).numpy(), expected, rtol=1e-10, atol=1e-12)


# ---- encoder and decoder layers -------------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_numpy(norm_first, device):
    layer = randomize(nn.EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, norm_first=norm_first).to(dtype="float64"))
    layer.to(device)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 5, D_MODEL))
    mask = np.ones((2, 1, 1, 5), dtype=bool)
    mask[0, ..., 3:] = False
    out = layer(f64(x, device), Tensor(mask, device=device))
    ref = np_encoder_layer(params_np(layer), x, HEADS, mask, norm_first)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_numpy(norm_first, device):
    layer = randomize(nn.DecoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, norm_first=norm_first).to(dtype="float64"))
    layer.to(device)
    rng = np.random.default_rng(6)
    x, memory = rng.standard_normal((2, 4, D_MODEL)), rng.standard_normal((2, 6, D_MODEL))
    src_mask = np.ones((2, 1, 1, 6), dtype=bool)
    src_mask[1, ..., 4:] = False
    tgt_mask = np_causal(4)[None, None]
    out = layer(f64(x, device), f64(memory, device), Tensor(src_mask, device=device), Tensor(tgt_mask, device=device))
    ref = np_decoder_layer(params_np(layer), x, memory, HEADS, src_mask, tgt_mask, norm_first)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-9, atol=1e-11)
    assert layer.self_attn.attention_weights.shape == (2, HEADS, 4, 4)
    assert layer.cross_attn.attention_weights.shape == (2, HEADS, 4, 6)


def test_post_norm_output_is_normalised_and_pre_norm_is_not():
    rng = np.random.default_rng(7)
    x = f64(rng.standard_normal((2, 3, D_MODEL)) * 5)
    post = nn.EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0).to(dtype="float64")(x).numpy()
    np.testing.assert_allclose(post.mean(-1), 0.0, atol=1e-10)
    np.testing.assert_allclose(post.var(-1), 1.0, rtol=1e-3)  # eps 1e-5
    pre = nn.EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, norm_first=True).to(dtype="float64")(x).numpy()
    assert np.abs(pre.var(-1) - 1.0).max() > 0.5
