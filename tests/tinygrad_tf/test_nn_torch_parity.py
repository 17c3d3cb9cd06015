"""Parity with PyTorch: the same weights give the same outputs and the same gradients.

Our MultiHeadAttention keeps q_proj, k_proj, v_proj as three Linears; torch
packs them into `in_proj_weight` / `in_proj_bias` (rows q, k, v). Our
cross_attn is torch's multihead_attn, our feed_forward.linear1/2 torch's
linear1/2. Masks are opposite: ours say True = may attend, torch's boolean
attn_mask / key_padding_mask say True = NOT allowed. Everything runs in
float64 with dropout 0, so outputs and every parameter gradient agree to
about 1e-10. Every test runs with the readable forms of the ops (the default)
and with their fast forms (`ops.fast.enable()`, as training runs them).
"""
import math

import numpy as np
import pytest

import ops
from autograd import Tensor
from tinygrad_tf import nn

from nn_testing import (
    D_FF, D_MODEL, HEADS, PAD, VOCAB, np_causal, np_positional_table, randomize, src_tokens,
    tgt_tokens, tiny_transformer,
)

torch = pytest.importorskip("torch")
from tinygrad_tf.interop.torch_model import torch_name as packed_torch_name  # noqa: E402  (needs torch)

RTOL, ATOL = 1e-8, 1e-10


@pytest.fixture(autouse=True, params=["readable", "fast"])
def forms(request):
    with ops.fast.enable() if request.param == "fast" else ops.fast.disable():
        yield request.param


def torch_name(name, d_model=D_MODEL):
    """Our parameter name -> (torch parameter name, rows of it that hold ours)."""
    name = name.replace("cross_attn.", "multihead_attn.").replace("feed_forward.", "")
    return packed_torch_name(name, d_model)  # q/k/v projections live in torch's packed in_proj


def copy_to_torch(ours, theirs):
    """Copy every parameter of our module into the torch module (which must have one place for each)."""
    tparams = dict(theirs.named_parameters())
    covered = {n: np.zeros(p.shape[0] if p.ndim else 1, dtype=bool) for n, p in tparams.items()}
    with torch.no_grad():
        for name, p in ours.named_parameters():
            tname, rows = torch_name(name)
            assert tname in tparams, f"{name} -> {tname} not in torch's module"
            tparams[tname][rows] = torch.from_numpy(p.numpy())
            covered[tname][rows] = True
    missing = [n for n, c in covered.items() if not c.all()]
    assert not missing, f"torch parameters not set from ours: {missing}"


def assert_same_grads(ours, theirs):
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        tname, rows = torch_name(name)
        tgrad = tparams[tname].grad
        assert p.grad is not None, name
        assert tgrad is not None, tname
        np.testing.assert_allclose(p.grad.numpy(), tgrad[rows].numpy(), rtol=RTOL, atol=ATOL, err_msg=f"gradient of {name}")


def ours_and_torch(array, requires_grad=True):
    return (Tensor(array, dtype="float64", requires_grad=requires_grad),
            torch.tensor(array, dtype=torch.float64, requires_grad=requires_grad))


def backprop_same_loss(out, tout, seed=0):
    w = np.random.default_rng(seed).standard_normal(out.shape)
    (out * Tensor(w, dtype="float64")).sum().backward()
    (tout * torch.tensor(w)).sum().backward()


def check_close(a, b, what):
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=what)


# ---- MultiHeadAttention ------------------------------------------------------------

@pytest.mark.parametrize("q_len,k_len", [(5, 5), (3, 6)])
def test_multi_head_attention_matches_torch(q_len, k_len):
    ours = randomize(nn.MultiHeadAttention(D_MODEL, HEADS, dropout=0.0).to(dtype="float64"), 1)
    theirs = torch.nn.MultiheadAttention(D_MODEL, HEADS, dropout=0.0, batch_first=True, dtype=torch.float64)
    copy_to_torch(ours, theirs)
    rng = np.random.default_rng(q_len + k_len)
    q, tq = ours_and_torch(rng.standard_normal((2, q_len, D_MODEL)))
    k, tk = ours_and_torch(rng.standard_normal((2, k_len, D_MODEL)))
    v, tv = ours_and_torch(rng.standard_normal((2, k_len, D_MODEL)))
    real = np.ones((2, k_len), dtype=bool)
    real[1, -2:] = False  # padded keys in the second sequence
    allowed = np.tril(np.ones((q_len, k_len), dtype=bool), k=k_len - q_len)  # causal-like, no empty row
    mask = Tensor(real[:, None, None, :] & allowed[None, None])
    out = ours(q, k, v, mask)
    tout, tweights = theirs(tq, tk, tv, key_padding_mask=torch.from_numpy(~real),
                            attn_mask=torch.from_numpy(~allowed), need_weights=True, average_attn_weights=False)
    check_close(out, tout, "output")
    check_close(ours.attention_weights, tweights, "attention weights")
    backprop_same_loss(out, tout)
    for name, a, b in (("query", q, tq), ("key", k, tk), ("value", v, tv)):
        check_close(a.grad, b.grad, f"gradient of {name}")
    assert_same_grads(ours, theirs)


def test_multi_head_attention_per_sequence_mask_matches_torch():
    ours = randomize(nn.MultiHeadAttention(D_MODEL, HEADS).to(dtype="float64"), 2)
    theirs = torch.nn.MultiheadAttention(D_MODEL, HEADS, batch_first=True, dtype=torch.float64)
    copy_to_torch(ours, theirs)
    rng = np.random.default_rng(3)
    x, tx = ours_and_torch(rng.standard_normal((3, 4, D_MODEL)))
    allowed = rng.random((3, 4, 4)) > 0.4
    allowed[:, np.arange(4), np.arange(4)] = True  # no empty row (torch would give NaN)
    out = ours(x, x, x, Tensor(allowed[:, None]))
    torch_mask = torch.from_numpy(np.repeat(~allowed, HEADS, axis=0))  # (batch * heads, L, S), batch-major
    tout, _ = theirs(tx, tx, tx, attn_mask=torch_mask)
    check_close(out, tout, "output")
    backprop_same_loss(out, tout, seed=4)
    check_close(x.grad, tx.grad, "gradient of x")
    assert_same_grads(ours, theirs)


# ---- Encoder and decoder layers -------------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_encoder_layer_matches_torch(norm_first):
    ours = randomize(nn.EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, norm_first=norm_first).to(dtype="float64"), 5)
    theirs = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, activation="relu",
                                              layer_norm_eps=1e-5, batch_first=True, norm_first=norm_first,
                                              dtype=torch.float64)
    copy_to_torch(ours, theirs)
    rng = np.random.default_rng(6)
    x, tx = ours_and_torch(rng.standard_normal((2, 5, D_MODEL)))
    real = np.ones((2, 5), dtype=bool)
    real[0, 3:] = False
    out = ours(x, Tensor(real[:, None, None, :]))
    tout = theirs(tx, src_key_padding_mask=torch.from_numpy(~real))
    check_close(out, tout, "output")
    backprop_same_loss(out, tout, seed=7)
    check_close(x.grad, tx.grad, "gradient of x")
    assert_same_grads(ours, theirs)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_decoder_layer_matches_torch(norm_first):
    ours = randomize(nn.DecoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, norm_first=norm_first).to(dtype="float64"), 8)
    theirs = torch.nn.TransformerDecoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, activation="relu",
                                              layer_norm_eps=1e-5, batch_first=True, norm_first=norm_first,
                                              dtype=torch.float64)
    copy_to_torch(ours, theirs)
    rng = np.random.default_rng(9)
    x, tx = ours_and_torch(rng.standard_normal((2, 4, D_MODEL)))
    memory, tmemory = ours_and_torch(rng.standard_normal((2, 6, D_MODEL)))
    src_real = np.ones((2, 6), dtype=bool)
    src_real[1, 4:] = False
    tgt_real = np.ones((2, 4), dtype=bool)
    tgt_real[1, 3:] = False
    causal = np_causal(4)
    out = ours(x, memory, Tensor(src_real[:, None, None, :]), Tensor(tgt_real[:, None, None, :] & causal))
    tout = theirs(tx, tmemory, tgt_mask=torch.from_numpy(~causal), tgt_key_padding_mask=torch.from_numpy(~tgt_real),
                  memory_key_padding_mask=torch.from_numpy(~src_real))
    check_close(out, tout, "output")
    backprop_same_loss(out, tout, seed=10)
    check_close(x.grad, tx.grad, "gradient of x")
    check_close(memory.grad, tmemory.grad, "gradient of memory")
    assert_same_grads(ours, theirs)


def test_gelu_feed_forward_matches_torch():
    ours = randomize(nn.EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, activation="gelu").to(dtype="float64"), 11)
    theirs = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, activation="gelu",
                                              batch_first=True, dtype=torch.float64)
    copy_to_torch(ours, theirs)
    x, tx = ours_and_torch(np.random.default_rng(12).standard_normal((2, 3, D_MODEL)))
    out, tout = ours(x), theirs(tx)
    check_close(out, tout, "output")
    backprop_same_loss(out, tout)
    assert_same_grads(ours, theirs)


# ---- The whole model against a torch composition ------------------------------------------

class TorchTransformer(torch.nn.Module):
    """The same architecture from torch parts: embeddings, the sinusoid table, encoder, decoder, generator."""

    def __init__(self, norm_first, num_layers=2):
        super().__init__()
        kw = dict(dropout=0.0, batch_first=True, norm_first=norm_first, dtype=torch.float64)
        self.src_embed = torch.nn.Embedding(VOCAB, D_MODEL, padding_idx=PAD, dtype=torch.float64)
        self.tgt_embed = torch.nn.Embedding(VOCAB, D_MODEL, padding_idx=PAD, dtype=torch.float64)
        enc_norm = torch.nn.LayerNorm(D_MODEL, dtype=torch.float64) if norm_first else None
        dec_norm = torch.nn.LayerNorm(D_MODEL, dtype=torch.float64) if norm_first else None
        self.encoder = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, D_FF, **kw),
                                                   num_layers, norm=enc_norm, enable_nested_tensor=False)
        self.decoder = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D_MODEL, HEADS, D_FF, **kw),
                                                   num_layers, norm=dec_norm)
        self.generator = torch.nn.Linear(D_MODEL, VOCAB, dtype=torch.float64)
        self.register_buffer("pe", torch.from_numpy(np_positional_table(32, D_MODEL)))

    def forward(self, src, tgt):
        src_pad, tgt_pad = src == PAD, tgt == PAD
        x = self.src_embed(src) * math.sqrt(D_MODEL) + self.pe[: src.shape[1]]
        memory = self.encoder(x, src_key_padding_mask=src_pad)
        y = self.tgt_embed(tgt) * math.sqrt(D_MODEL) + self.pe[: tgt.shape[1]]
        future = torch.triu(torch.ones(tgt.shape[1], tgt.shape[1], dtype=torch.bool), diagonal=1)
        y = self.decoder(y, memory, tgt_mask=future, tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
        return self.generator(y)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_whole_transformer_matches_a_torch_composition(norm_first):
    ours = randomize(tiny_transformer(norm_first=norm_first, seed=13), 13)
    state = ours.state_dict()
    state["positional.pe"] = np_positional_table(32, D_MODEL)  # ours is built at float32 precision
    ours.load_state_dict(state)
    theirs = TorchTransformer(norm_first)
    copy_to_torch(ours, theirs)
    src, tgt = src_tokens(), tgt_tokens()
    logits = ours(src, tgt)
    tlogits = theirs(torch.from_numpy(src.numpy()), torch.from_numpy(tgt.numpy()))
    assert logits.shape == tuple(tlogits.shape) == (2, 4, VOCAB)
    check_close(logits, tlogits, "logits")
    backprop_same_loss(logits, tlogits, seed=14)
    assert_same_grads(ours, theirs)
    # Same cross-entropy as torch, with the padded target ignored.
    import ops

    targets = np.array([[4, 6, 2, 5], [9, 3, 7, PAD]])
    loss = ops.cross_entropy(logits.reshape(-1, VOCAB), Tensor(targets.reshape(-1)), ignore_index=PAD)
    tloss = torch.nn.functional.cross_entropy(tlogits.reshape(-1, VOCAB), torch.from_numpy(targets.reshape(-1)),
                                              ignore_index=PAD)
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)
