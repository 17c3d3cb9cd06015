"""The whole Transformer: shapes, default masks, scaling, and what masking must guarantee."""
import math

import numpy as np
import pytest

import ops
from autograd import Tensor
from tinygrad_tf import nn

from nn_testing import (
    D_MODEL, HEADS, PAD, VOCAB, np_causal, np_decoder_layer, np_encoder_layer, np_layer_norm,
    np_linear, np_padding, np_positional_table, params_np, randomize, src_tokens, tgt_tokens,
    tiny_transformer,
)


def model_for(norm_first, seed=0):
    model = randomize(tiny_transformer(norm_first=norm_first, seed=seed), seed)
    # Keep the padding rows at zero as a freshly built model has them (randomize overwrote them).
    model.src_embed.weight.data[PAD] = 0.0
    model.tgt_embed.weight.data[PAD] = 0.0
    return model


def np_transformer(model, src, tgt, norm_first, max_len=32):
    """The model's forward recomputed in NumPy from its parameters and the paper's formulas."""
    P = params_np(model)
    src, tgt = np.asarray(src), np.asarray(tgt)
    pe = np_positional_table(max_len, D_MODEL)
    src_mask = np_padding(src)
    tgt_mask = np_padding(tgt) & np_causal(tgt.shape[1])
    x = P["src_embed.weight"][src] * math.sqrt(D_MODEL) + pe[: src.shape[1]]
    for i in range(2):
        x = np_encoder_layer(P, x, HEADS, src_mask, norm_first, prefix=f"encoder.layers.{i}.")
    if norm_first:
        x = np_layer_norm(x, P["encoder.norm.weight"], P["encoder.norm.bias"])
    memory = x
    y = P["tgt_embed.weight"][tgt] * math.sqrt(D_MODEL) + pe[: tgt.shape[1]]
    for i in range(2):
        y = np_decoder_layer(P, y, memory, HEADS, src_mask, tgt_mask, norm_first, prefix=f"decoder.layers.{i}.")
    if norm_first:
        y = np_layer_norm(y, P["decoder.norm.weight"], P["decoder.norm.bias"])
    return np_linear(y, P["generator.weight"], P["generator.bias"])


def exact_pe(model):
    """Load the exact float64 positional table (the module builds it at float32 precision)."""
    state = model.state_dict()
    state["positional.pe"] = np_positional_table(*model.positional.pe.shape)
    model.load_state_dict(state)
    return model


def test_children_are_the_documented_ones():
    model = tiny_transformer()
    assert set(model._modules) == {"src_embed", "tgt_embed", "positional", "encoder", "decoder", "generator"}
    assert len(model.encoder.layers) == 2 and len(model.decoder.layers) == 2
    assert isinstance(model.encoder.layers[0], nn.EncoderLayer)
    assert isinstance(model.decoder.layers[1], nn.DecoderLayer)
    assert model.generator.weight.shape == (VOCAB, D_MODEL)
    assert model.encoder.norm is None and tiny_transformer(norm_first=True).encoder.norm is not None
    # Layers of a stack start with different weights.
    a, b = model.encoder.layers
    assert not np.array_equal(a.self_attn.q_proj.weight.numpy(), b.self_attn.q_proj.weight.numpy())


@pytest.mark.parametrize("norm_first", [False, True])
def test_forward_matches_a_numpy_transformer(norm_first, device):
    model = exact_pe(model_for(norm_first)).to(device)
    src, tgt = src_tokens(), tgt_tokens()
    logits = model(src.to(device), tgt.to(device))
    assert logits.shape == (2, 4, VOCAB) and logits.device == device
    np.testing.assert_allclose(logits.numpy(), np_transformer(model, src.numpy(), tgt.numpy(), norm_first),
                               rtol=1e-9, atol=1e-10)


def test_default_masks_equal_explicit_padding_and_causal_masks():
    model = model_for(False)
    src, tgt = src_tokens(), tgt_tokens()
    src_mask = Tensor(np_padding(src.numpy()))
    tgt_mask = Tensor(np_padding(tgt.numpy()) & np_causal(4))
    np.testing.assert_array_equal(model.src_mask(src).numpy(), src_mask.numpy())
    np.testing.assert_array_equal(model.tgt_mask(tgt).numpy(), tgt_mask.numpy())
    np.testing.assert_array_equal(model(src, tgt).numpy(), model(src, tgt, src_mask, tgt_mask).numpy())
    # No masks at all would differ: the default is not "attend everywhere".
    everything = Tensor(np.ones((1, 1, 1, 1), dtype=bool))
    assert not np.allclose(model(src, tgt).numpy(), model(src, tgt, everything, everything).numpy())


def test_encode_scales_embeddings_by_sqrt_d_model():
    model = model_for(False)
    src = src_tokens()
    scaled = model.positional(model.src_embed(src) * math.sqrt(D_MODEL))
    np.testing.assert_array_equal(model.encode(src).numpy(), model.encoder(scaled, model.src_mask(src)).numpy())
    unscaled = model.positional(model.src_embed(src))
    assert not np.allclose(model.encode(src).numpy(), model.encoder(unscaled, model.src_mask(src)).numpy())


def test_decode_from_encode_equals_forward():
    model = model_for(True)
    src, tgt = src_tokens(), tgt_tokens()
    mask = model.src_mask(src)
    via_parts = model.generator(model.decode(model.encode(src, mask), mask, tgt)).numpy()
    np.testing.assert_array_equal(via_parts, model(src, tgt).numpy())


# ---- masking guarantees ---------------------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True])
def test_weights_on_future_positions_and_padded_keys_are_exactly_zero(norm_first):
    model = model_for(norm_first)
    src, tgt = src_tokens(), tgt_tokens()
    model(src, tgt)
    src_pad = src.numpy() == PAD  # (batch, src_len)
    tgt_pad = tgt.numpy() == PAD
    future = ~np_causal(4)
    for layer in model.encoder.layers:
        w = layer.self_attn.attention_weights.numpy()  # (batch, heads, src_len, src_len)
        assert np.all(w[np.broadcast_to(src_pad[:, None, None, :], w.shape)] == 0.0)
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    for layer in model.decoder.layers:
        w = layer.self_attn.attention_weights.numpy()  # (batch, heads, tgt_len, tgt_len)
        assert np.all(w[np.broadcast_to(future, w.shape)] == 0.0)
        assert np.all(w[np.broadcast_to(tgt_pad[:, None, None, :], w.shape)] == 0.0)
        assert np.all(w[np.broadcast_to(~future, w.shape) & ~np.broadcast_to(tgt_pad[:, None, None, :], w.shape)] > 0)
        c = layer.cross_attn.attention_weights.numpy()  # (batch, heads, tgt_len, src_len)
        assert c.shape == (2, HEADS, 4, 5)
        assert np.all(c[np.broadcast_to(src_pad[:, None, None, :], c.shape)] == 0.0)
        np.testing.assert_allclose(c.sum(-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("norm_first", [False, True])
def test_changing_later_target_tokens_leaves_earlier_logits_unchanged(norm_first):
    model = model_for(norm_first)
    src = src_tokens()
    tgt = np.array([[1, 4, 6, 2, 7], [1, 9, 3, 5, 8]])
    base = model(src, Tensor(tgt)).numpy()
    for t in range(4):
        changed = tgt.copy()
        changed[:, t + 1:] = (changed[:, t + 1:] + 3) % (VOCAB - 1) + 1  # other real tokens
        out = model(src, Tensor(changed)).numpy()
        np.testing.assert_allclose(out[:, : t + 1], base[:, : t + 1], rtol=1e-12, atol=1e-13)
        assert not np.allclose(out[:, t + 1:], base[:, t + 1:]), "later positions should see the change"


@pytest.mark.parametrize("norm_first", [False, True])
def test_changing_padded_source_tokens_changes_nothing(norm_first):
    model = model_for(norm_first)
    src, tgt = src_tokens(), tgt_tokens()
    mask = model.src_mask(src)
    base = model(src, tgt, src_mask=mask).numpy()
    changed = src.numpy().copy()
    changed[1, 3:] = [4, 10]  # whatever sits under the mask
    np.testing.assert_allclose(model(Tensor(changed), tgt, src_mask=mask).numpy(), base, rtol=1e-12, atol=1e-13)
    # Changing a real source token does change the logits.
    changed[1, 0] = 2
    assert not np.allclose(model(Tensor(changed), tgt, src_mask=mask).numpy()[1], base[1])


def test_padding_a_source_gives_the_logits_of_the_unpadded_source():
    model = model_for(False)
    tgt = Tensor(np.array([[1, 4, 6]]))
    short = model(Tensor(np.array([[5, 1, 8]])), tgt).numpy()
    padded = model(Tensor(np.array([[5, 1, 8, PAD, PAD, PAD]])), tgt).numpy()
    np.testing.assert_allclose(padded, short, rtol=1e-11, atol=1e-12)


def test_padding_a_target_leaves_the_real_positions_unchanged():
    model = model_for(True)
    src = src_tokens()[:1]
    short = model(src, Tensor(np.array([[1, 4, 6]]))).numpy()
    padded = model(src, Tensor(np.array([[1, 4, 6, PAD, PAD]]))).numpy()
    np.testing.assert_allclose(padded[:, :3], short, rtol=1e-11, atol=1e-12)


def test_fully_masked_rows_in_the_model_give_zero_weights_not_nan():
    model = model_for(False)
    src, tgt = src_tokens(), tgt_tokens()
    nothing = Tensor(np.zeros((2, 1, 1, 5), dtype=bool))  # no source token may be attended
    logits = model(src, tgt, src_mask=nothing)
    assert np.all(np.isfinite(logits.numpy()))
    for layer in model.decoder.layers:
        assert np.all(layer.cross_attn.attention_weights.numpy() == 0.0)
    logits.sum().backward()
    assert all(np.all(np.isfinite(p.grad.numpy())) for p in model.parameters() if p.grad is not None)


def test_causal_mask_helper_convention():
    np.testing.assert_array_equal(ops.causal_mask(4).numpy(), np_causal(4))
    np.testing.assert_array_equal(ops.padding_mask(src_tokens(), PAD).numpy(), np_padding(src_tokens().numpy()))


def test_sequence_past_max_len_is_a_clear_error():
    model = tiny_transformer()  # max_len 32
    with pytest.raises(ValueError, match="max_len"):
        model(Tensor(np.ones((1, 33), dtype=np.int64)), tgt_tokens()[:1])


def test_backward_reaches_every_parameter(device):
    model = model_for(True).to(device)
    model(src_tokens().to(device), tgt_tokens().to(device)).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert p.grad.shape == p.shape and p.grad.device == device, name
        assert np.any(p.grad.numpy() != 0), name


@pytest.mark.parametrize("norm_first", [False, True])
def test_forward_and_backward_on_the_device_equal_cpu(device, norm_first):
    cpu, other = model_for(norm_first, seed=3), model_for(norm_first, seed=3).to(device)
    w = np.random.default_rng(0).standard_normal((2, 4, VOCAB))
    logits = cpu(src_tokens(), tgt_tokens())
    dlogits = other(src_tokens().to(device), tgt_tokens().to(device))
    assert dlogits.device == device
    np.testing.assert_allclose(dlogits.numpy(), logits.numpy(), rtol=1e-10, atol=1e-12)
    (logits * Tensor(w, dtype="float64")).sum().backward()
    (dlogits * Tensor(w, dtype="float64", device=device)).sum().backward()
    for (name, p), q in zip(cpu.named_parameters(), other.parameters()):
        assert q.grad.device == device, name
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    attn = other.decoder.layers[0].cross_attn.attention_weights
    assert attn.device == device and attn.shape == (2, HEADS, 4, 5)


def test_float32_model_runs_in_float32():
    model = tiny_transformer(dtype=None)
    logits = model(src_tokens(), tgt_tokens())
    assert logits.dtype == np.float32
    logits.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
