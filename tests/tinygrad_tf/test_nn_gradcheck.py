"""Gradients of the Transformer's components against central finite differences, in float64.

`autograd.gradcheck` differentiates with respect to its inputs, so parameter
gradients are checked by passing the parameters in as inputs and swapping
them into the module (`gradcheck_with_parameters`). The whole model has too
many parameters to check every element in seconds: there, a few random
elements of every parameter are checked (`finite_difference_check`), and the
embedding and generator tables in full.
"""
import numpy as np
import pytest

from autograd import Tensor, gradcheck
from tinygrad_tf import nn

from nn_testing import (
    D_FF, D_MODEL, HEADS, PAD, finite_difference_check, gradcheck_with_parameters, np_causal,
    randomize, src_tokens, tgt_tokens, tiny_transformer,
)


def x64(shape, seed, requires_grad=True):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), dtype="float64", requires_grad=requires_grad)


def padding(batch_lengths, length):
    mask = np.zeros((len(batch_lengths), 1, 1, length), dtype=bool)
    for b, n in enumerate(batch_lengths):
        mask[b, ..., :n] = True
    return Tensor(mask)


def test_gradcheck_helper_catches_a_wrong_parameter_gradient():
    # The parameter-swapping wrapper must really see parameter gradients: a module whose
    # backward is deliberately wrong (detach cuts the weight's path) must fail.
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def forward(self, x):
            return x @ self.lin.weight.detach().T + self.lin.bias * self.lin.weight.sum()

    m = Broken().to(dtype="float64")
    with pytest.raises(AssertionError):
        gradcheck_with_parameters(m, m, [x64((2, 3), 0)])


def test_multi_head_attention_self_attention_with_padding():
    m = randomize(nn.MultiHeadAttention(D_MODEL, HEADS, dropout=0.0).to(dtype="float64"), 1)
    mask = padding([4, 2], 4)
    assert gradcheck_with_parameters(m, lambda x: m(x, x, x, mask), [x64((2, 4, D_MODEL), 0)])


def test_multi_head_attention_cross_attention_with_causal_and_padding_masks():
    m = randomize(nn.MultiHeadAttention(D_MODEL, HEADS, dropout=0.0).to(dtype="float64"), 2)
    mask = padding([5, 3], 5)
    q, k, v = x64((2, 3, D_MODEL), 1), x64((2, 5, D_MODEL), 2), x64((2, 5, D_MODEL), 3)
    assert gradcheck_with_parameters(m, lambda q, k, v: m(q, k, v, mask), [q, k, v])
    causal = Tensor(np_causal(4)[None, None])
    assert gradcheck(lambda x: m(x, x, x, causal), [x64((2, 4, D_MODEL), 4)])


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_encoder_layer(norm_first):
    layer = nn.EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, norm_first=norm_first).to(dtype="float64")
    randomize(layer, 3)
    mask = padding([4, 3], 4)
    assert gradcheck_with_parameters(layer, lambda x: layer(x, mask), [x64((2, 4, D_MODEL), 5)])


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_decoder_layer(norm_first):
    layer = nn.DecoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0, norm_first=norm_first).to(dtype="float64")
    randomize(layer, 4)
    src_mask = padding([4, 2], 4)
    tgt_mask = padding([3, 2], 3) & Tensor(np_causal(3))
    x, memory = x64((2, 3, D_MODEL), 6), x64((2, 4, D_MODEL), 7)
    assert gradcheck_with_parameters(layer, lambda x, m: layer(x, m, src_mask, tgt_mask), [x, memory])


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_encoder_and_decoder_stacks(norm_first):
    enc = nn.Encoder(nn.EncoderLayer(D_MODEL, HEADS, D_FF, 0.0, norm_first), 2).to(dtype="float64")
    dec = nn.Decoder(nn.DecoderLayer(D_MODEL, HEADS, D_FF, 0.0, norm_first), 2).to(dtype="float64")
    randomize(enc, 5), randomize(dec, 6)
    src_mask = padding([3, 2], 3)
    tgt_mask = Tensor(np_causal(3))

    def fn(src, tgt):
        return dec(tgt, enc(src, src_mask), src_mask, tgt_mask)

    assert gradcheck(fn, [x64((2, 3, D_MODEL), 8), x64((2, 3, D_MODEL), 9)])


def _masked_logits(model):
    src, tgt = src_tokens(), tgt_tokens()
    real = Tensor((tgt.numpy() != PAD)[..., None], dtype="float64")  # the loss ignores padded targets

    def fn():
        return model(src, tgt) * real

    return fn


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_whole_transformer_every_parameter_sampled(norm_first):
    model = randomize(tiny_transformer(norm_first=norm_first, seed=7), 7)
    model.tgt_embed.weight.data[PAD] = 0.0
    model.src_embed.weight.data[PAD] = 0.0
    checked = finite_difference_check(model, _masked_logits(model), per_param=3, seed=1)
    assert checked >= 3 * len(model.parameters()) - 10


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_whole_transformer_embeddings_and_generator_in_full(norm_first):
    model = randomize(tiny_transformer(norm_first=norm_first, seed=8), 8)
    fn = _masked_logits(model)
    # Padding rows get no gradient by design; with padded targets left out of the loss
    # and padded source keys masked, the finite differences there are zero too.
    names = {"src_embed.weight", "tgt_embed.weight", "generator.weight", "generator.bias"}
    assert gradcheck_with_parameters(model, fn, [], names=names)


@pytest.mark.parametrize("tie, name", [("target", "tgt_embed.weight"), (True, "src_embed.weight")],
                         ids=["target-and-generator", "three-way"])
def test_whole_transformer_with_tied_weights(tie, name):
    model = randomize(tiny_transformer(seed=9, tie_weights=tie), 9)
    fn = _masked_logits(model)
    assert [n for n, p in model.named_parameters() if p is model.generator.weight] == [name]  # listed once, first name
    assert gradcheck_with_parameters(model, fn, [], names={name})


def test_padding_row_gradient_is_zero_even_when_the_output_depends_on_it():
    model = tiny_transformer(seed=10)
    model(src_tokens(), tgt_tokens()).sum().backward()  # padded target positions are in this loss
    assert np.all(model.tgt_embed.weight.grad.numpy()[PAD] == 0)
    assert np.all(model.src_embed.weight.grad.numpy()[PAD] == 0)
