"""Linear, Embedding, LayerNorm, Dropout, PositionalEncoding, FeedForward against NumPy."""
import math

import numpy as np
import pytest
import scipy.special

import autograd
from autograd import Tensor
from tinygrad_tf import nn

from nn_testing import np_layer_norm, np_linear, np_positional_table


def f64(a, device="cpu", requires_grad=False):
    return Tensor(np.asarray(a), dtype="float64", device=device, requires_grad=requires_grad)


# ---- Linear ---------------------------------------------------------------------

def test_linear_weight_is_out_by_in_and_computes_x_wT_plus_b(device):
    lin = nn.Linear(5, 3)
    assert lin.weight.shape == (3, 5) and lin.bias.shape == (3,)
    rng = np.random.default_rng(0)
    lin.weight.data[...] = rng.standard_normal((3, 5))
    lin.bias.data[...] = rng.standard_normal(3)
    lin.to(device, dtype="float64")
    x = rng.standard_normal((2, 4, 5))
    out = lin(f64(x, device))
    assert out.shape == (2, 4, 3) and out.device == device
    np.testing.assert_allclose(out.numpy(), x @ lin.weight.numpy().T + lin.bias.numpy(), rtol=1e-12)


def test_linear_gradients_match_numpy():
    lin = nn.Linear(4, 3).to(dtype="float64")
    rng = np.random.default_rng(1)
    x_np, g = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 3))
    x = f64(x_np, requires_grad=True)
    (lin(x) * f64(g)).sum().backward()
    W = lin.weight.numpy()
    np.testing.assert_allclose(lin.weight.grad.numpy(), np.einsum("blo,bli->oi", g, x_np), rtol=1e-10)
    np.testing.assert_allclose(lin.bias.grad.numpy(), g.sum((0, 1)), rtol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), g @ W, rtol=1e-10)


def test_linear_without_bias():
    lin = nn.Linear(4, 2, bias=False)
    assert lin.bias is None
    x = np.ones((1, 4))
    np.testing.assert_allclose(lin(Tensor(x)).numpy(), x @ lin.weight.numpy().T, rtol=1e-6)


def test_linear_init_is_xavier_uniform_with_zero_bias():
    autograd.manual_seed(0)
    lin = nn.Linear(300, 200)
    w = lin.weight.numpy()
    bound = math.sqrt(6.0 / (300 + 200))
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.02)  # std of U(-a, a)
    assert abs(w.mean()) < 0.01 * bound
    assert np.all(lin.bias.numpy() == 0)


def test_linear_rejects_a_wrong_input_width_naming_where_it_sits():
    with pytest.raises(ValueError, match=r"^Linear\(4, 2\): input has last axis 5 \(shape \(3, 5\)\)$"):
        nn.Linear(4, 2)(Tensor(np.ones((3, 5))))  # on its own: no path to name
    model = nn.FeedForward(4, 8, dropout=0.0)
    with pytest.raises(ValueError, match=r"^Linear\(4, 8\) at linear1: input has last axis 5"):
        model(Tensor(np.ones((3, 5))))


# ---- Embedding -------------------------------------------------------------------

def test_embedding_looks_up_rows(device):
    emb = nn.Embedding(10, 4).to(device)
    ids = np.array([[1, 5, 5], [9, 0, 2]])
    out = emb(Tensor(ids, device=device))
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[ids])


def test_embedding_padding_row_starts_at_zero_and_gets_zero_gradient():
    autograd.manual_seed(3)
    emb = nn.Embedding(6, 3, padding_idx=2).to(dtype="float64")
    assert np.all(emb.weight.numpy()[2] == 0)
    assert np.all(np.abs(emb.weight.numpy()[[0, 1, 3, 4, 5]]).sum(1) > 0)
    ids = np.array([[2, 1, 1], [4, 2, 0]])
    g = np.random.default_rng(0).standard_normal((2, 3, 3))
    (emb(Tensor(ids)) * f64(g)).sum().backward()
    expected = np.zeros((6, 3))
    np.add.at(expected, ids, g)  # repeated ids accumulate
    expected[2] = 0.0
    np.testing.assert_allclose(emb.weight.grad.numpy(), expected, rtol=1e-12)
    assert np.all(emb.weight.grad.numpy()[2] == 0)


def test_embedding_init_has_variance_one_over_dim():
    autograd.manual_seed(0)
    emb = nn.Embedding(2000, 64)
    np.testing.assert_allclose(emb.weight.numpy().std(), 1 / 8, rtol=0.03)


# ---- LayerNorm ------------------------------------------------------------------

def test_layer_norm_matches_numpy_with_biased_variance(device):
    ln = nn.LayerNorm(6)
    assert ln.eps == 1e-5
    np.testing.assert_array_equal(ln.weight.numpy(), np.ones(6))
    np.testing.assert_array_equal(ln.bias.numpy(), np.zeros(6))
    rng = np.random.default_rng(0)
    ln.weight.data[...] = rng.standard_normal(6)
    ln.bias.data[...] = rng.standard_normal(6)
    ln.to(device, dtype="float64")
    x = rng.standard_normal((3, 4, 6)) * 3 + 1
    out = ln(f64(x, device)).numpy()
    np.testing.assert_allclose(out, np_layer_norm(x, ln.weight.numpy(), ln.bias.numpy()), rtol=1e-10, atol=1e-12)


def test_layer_norm_fused_and_composed_agree_with_gradients():
    rng = np.random.default_rng(2)
    x_np = rng.standard_normal((2, 3, 5))
    g = rng.standard_normal((2, 3, 5))
    results = []
    for fused in (True, False):
        ln = nn.LayerNorm(5, fused=fused).to(dtype="float64")
        ln.weight.data[...] = np.linspace(0.5, 1.5, 5)
        ln.bias.data[...] = np.linspace(-1, 1, 5)
        x = f64(x_np, requires_grad=True)
        (ln(x) * f64(g)).sum().backward()
        results.append((x.grad.numpy(), ln.weight.grad.numpy(), ln.bias.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    x_hat = np_layer_norm(x_np, np.ones(5), np.zeros(5))
    np.testing.assert_allclose(results[0][1], (g * x_hat).sum((0, 1)), rtol=1e-9)
    np.testing.assert_allclose(results[0][2], g.sum((0, 1)), rtol=1e-12)


# ---- Dropout --------------------------------------------------------------------

def test_dropout_zeroes_and_scales_in_training_and_is_identity_in_eval():
    autograd.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = np.ones((200, 100))
    out = drop(f64(x)).numpy()
    zero = out == 0
    assert abs(zero.mean() - 0.25) < 0.01
    np.testing.assert_allclose(out[~zero], 1 / 0.75)
    drop.eval()
    np.testing.assert_array_equal(drop(f64(x)).numpy(), x)
    np.testing.assert_array_equal(nn.Dropout(0.0)(f64(x)).numpy(), x)


def test_dropout_gradient_follows_its_mask():
    autograd.manual_seed(1)
    x = f64(np.ones((50, 40)), requires_grad=True)
    out = nn.Dropout(0.5)(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())  # x = 1: the mask itself


def test_dropout_rejects_a_bad_probability():
    with pytest.raises(ValueError):
        nn.Dropout(1.5)
    with pytest.raises(ValueError):
        nn.Dropout(-0.1)


# ---- PositionalEncoding -------------------------------------------------------------

@pytest.mark.parametrize("d_model", [8, 7, 16])
def test_sinusoid_table_matches_the_papers_formula(d_model):
    np.testing.assert_allclose(nn.sinusoid_table(50, d_model), np_positional_table(50, d_model), atol=1e-12)


def test_positional_table_is_a_buffer_sin_on_even_cos_on_odd():
    pe = nn.PositionalEncoding(16, dropout=0.0, max_len=30)
    assert "pe" in pe._buffers and not pe.parameters()
    table = pe.pe.numpy()
    assert table.shape == (30, 16)
    np.testing.assert_allclose(table[0, 0::2], 0.0, atol=1e-12)  # sin(0)
    np.testing.assert_allclose(table[0, 1::2], 1.0, atol=1e-12)  # cos(0)
    np.testing.assert_allclose(table[:, 0], np.sin(np.arange(30)), atol=1e-6)
    np.testing.assert_allclose(table[:, 1], np.cos(np.arange(30)), atol=1e-6)
    assert np.all(np.abs(table) <= 1.0)


def test_positional_encoding_adds_the_table_without_scaling(device):
    pe = nn.PositionalEncoding(8, dropout=0.0, max_len=10).to(device, dtype="float64")
    x = np.random.default_rng(0).standard_normal((2, 6, 8)) * 10
    out = pe(f64(x, device))
    np.testing.assert_allclose(out.numpy(), x + np_positional_table(10, 8)[:6], rtol=0, atol=1e-13)
    np.testing.assert_array_equal(out.numpy(), x + pe.pe.numpy()[:6])


def test_a_model_cast_to_float64_has_the_exact_table_not_float32_widened():
    """.to(dtype=) computes the table again in the new dtype, wherever the encoding sits in the model."""
    model = nn.Transformer(11, 11, d_model=8, num_heads=2, num_encoder_layers=1, num_decoder_layers=1, d_ff=16,
                           max_len=40)
    tables = [m.pe for m in model.modules() if isinstance(m, nn.PositionalEncoding)]
    assert tables and all(t.dtype == np.float32 for t in tables)
    assert np.abs(tables[0].numpy() - np_positional_table(40, 8)).max() > 1e-9  # float32's rounding
    model.to(dtype="float64")
    for t in tables:
        assert t.dtype == np.float64
        np.testing.assert_allclose(t.numpy(), np_positional_table(40, 8), rtol=0, atol=1e-15)
    model.to("cpu")  # a move alone leaves the table as it is
    np.testing.assert_allclose(tables[0].numpy(), np_positional_table(40, 8), rtol=0, atol=1e-15)


def test_positional_encoding_gradient_passes_straight_through():
    pe = nn.PositionalEncoding(4, dropout=0.0, max_len=5)
    x = f64(np.zeros((1, 3, 4)), requires_grad=True)
    g = np.random.default_rng(0).standard_normal((1, 3, 4))
    (pe(x) * f64(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), g)


def test_positional_encoding_past_max_len_is_a_clear_error():
    pe = nn.PositionalEncoding(4, dropout=0.0, max_len=5)
    pe(Tensor(np.zeros((1, 5, 4))))  # exactly max_len is fine
    with pytest.raises(ValueError, match="max_len"):
        pe(Tensor(np.zeros((1, 6, 4))))


# ---- FeedForward ------------------------------------------------------------------

@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_feed_forward_matches_numpy(activation):
    ff = nn.FeedForward(4, 10, dropout=0.0, activation=activation).to(dtype="float64")
    rng = np.random.default_rng(0)
    for p in ff.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    x = rng.standard_normal((2, 3, 4))
    h = np_linear(x, ff.linear1.weight.numpy(), ff.linear1.bias.numpy())
    h = np.maximum(h, 0) if activation == "relu" else 0.5 * h * (1 + scipy.special.erf(h / math.sqrt(2)))
    expected = np_linear(h, ff.linear2.weight.numpy(), ff.linear2.bias.numpy())
    np.testing.assert_allclose(ff(f64(x)).numpy(), expected, rtol=1e-10, atol=1e-12)


def test_feed_forward_rejects_an_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        nn.FeedForward(4, 8, 0.0, activation="swish")


def test_layer_constructors_take_pytorchs_keyword_names(torch_lazy):
    """Code written for torch.nn (keywords included) builds the same layers here."""
    emb = nn.Embedding(num_embeddings=10, embedding_dim=4, padding_idx=0)
    norm = nn.LayerNorm(normalized_shape=4, eps=1e-6)
    lin = nn.Linear(in_features=4, out_features=3, bias=False)
    assert emb.weight.shape == (10, 4) and emb.embedding_dim == 4 and not emb.weight.numpy()[0].any()
    assert norm.weight.shape == (4,) and norm.normalized_shape == (4,) and norm.eps == 1e-6
    assert nn.LayerNorm((4,)).normalized_shape == (4,)
    assert lin.weight.shape == (3, 4) and lin.bias is None
    with pytest.raises(ValueError, match="normalized_shape must be one size"):
        nn.LayerNorm((2, 4))
    torch = torch_lazy
    if torch is not None:
        assert torch.nn.LayerNorm(normalized_shape=4).normalized_shape == norm.normalized_shape
        assert torch.nn.Embedding(num_embeddings=10, embedding_dim=4).embedding_dim == emb.embedding_dim
