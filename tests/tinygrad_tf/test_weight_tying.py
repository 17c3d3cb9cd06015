"""Three-way weight tying (the paper's section 3.4): one matrix for both embeddings and the output projection.

References: an untied twin (the tied gradient is the sum of its three
gradients) and PyTorch with the same three modules sharing one Parameter
(gradient, and one Adam step that moves the shared matrix once).
"""
import numpy as np
import pytest

import ops
from autograd import Tensor
from tinygrad_tf import nn
from tinygrad_tf.optim import Adam

from nn_testing import D_MODEL, PAD, VOCAB, randomize, src_tokens, tgt_tokens, tiny_transformer

TIED = ("src_embed.weight", "tgt_embed.weight", "generator.weight")
TARGETS = np.array([[4, 6, 2, 5], [9, 3, 7, PAD]])  # (2, 4): what each decoder position should predict


def _loss(model):
    logits = model(src_tokens(), tgt_tokens())  # (2, 4, VOCAB)
    return ops.cross_entropy(logits.reshape(-1, VOCAB), Tensor(TARGETS.reshape(-1)), ignore_index=PAD,
                             label_smoothing=0.1)


@pytest.mark.parametrize("tie", [True, "all"])
def test_three_way_tie_is_one_parameter(tie):
    model = tiny_transformer(tie_weights=tie)
    assert model.src_embed.weight is model.tgt_embed.weight is model.generator.weight
    assert sum(p is model.tgt_embed.weight for p in model.parameters()) == 1
    assert model.num_parameters() == tiny_transformer().num_parameters() - 2 * VOCAB * D_MODEL


def test_target_only_tie_keeps_the_source_embedding_apart():
    model = tiny_transformer(tie_weights="target")
    assert model.generator.weight is model.tgt_embed.weight
    assert model.src_embed.weight is not model.tgt_embed.weight
    assert model.num_parameters() == tiny_transformer().num_parameters() - VOCAB * D_MODEL


def test_three_way_tie_needs_equal_vocabularies_and_a_known_choice():
    with pytest.raises(ValueError, match="src_vocab=11, tgt_vocab=12"):
        nn.Transformer(11, 12, d_model=8, num_heads=2, num_encoder_layers=1, num_decoder_layers=1, d_ff=8,
                       tie_weights=True)
    nn.Transformer(11, 12, d_model=8, num_heads=2, num_encoder_layers=1, num_decoder_layers=1, d_ff=8,
                   tie_weights="target")  # different vocabularies may still tie the target side
    with pytest.raises(ValueError, match="tie_weights must be one of"):
        tiny_transformer(tie_weights="both")


def test_tied_gradient_is_the_sum_of_the_three_uses():
    tied = randomize(tiny_transformer(tie_weights=True, seed=3), 3)
    twin = tiny_transformer(seed=3)
    twin.load_state_dict(tied.state_dict())
    assert np.array_equal(twin.src_embed.weight.numpy(), twin.generator.weight.numpy())
    for model in (tied, twin):
        _loss(model).backward()
    expected = sum(getattr(twin, name.split(".")[0]).weight.grad.numpy() for name in TIED)
    np.testing.assert_allclose(tied.tgt_embed.weight.grad.numpy(), expected, rtol=1e-10, atol=1e-12)
    # each use does contribute: no two of the three gradients sum to the total
    for left_out in TIED:
        partial = sum(getattr(twin, n.split(".")[0]).weight.grad.numpy() for n in TIED if n != left_out)
        assert not np.allclose(partial, expected)


def test_state_dict_names_the_shared_matrix_three_times_and_loading_keeps_it_tied():
    model = randomize(tiny_transformer(tie_weights=True, seed=4), 4)
    state = model.state_dict()
    assert all(name in state for name in TIED)
    assert all(np.array_equal(state[name], state["tgt_embed.weight"]) for name in TIED)
    other = tiny_transformer(tie_weights=True, seed=5)
    shared = other.tgt_embed.weight
    other.load_state_dict(state)
    assert other.src_embed.weight is shared and other.generator.weight is shared
    np.testing.assert_array_equal(shared.numpy(), state["tgt_embed.weight"])


def test_loading_different_values_into_one_tied_matrix_is_refused():
    untied = randomize(tiny_transformer(seed=6), 6)  # its three matrices differ
    tied = tiny_transformer(tie_weights=True, seed=7)
    before = tied.tgt_embed.weight.numpy()
    with pytest.raises(ValueError, match="src_embed.weight, tgt_embed.weight, generator.weight are one shared"):
        tied.load_state_dict(untied.state_dict())
    np.testing.assert_array_equal(tied.tgt_embed.weight.numpy(), before)  # nothing half-loaded


def test_gradient_and_one_adam_step_match_torch_with_tied_weights():
    torch = pytest.importorskip("torch")
    from tinygrad_tf.interop.torch_model import TorchTransformer, load_from_ours

    ours = randomize(tiny_transformer(tie_weights=True, seed=8), 8)
    theirs = TorchTransformer(VOCAB, VOCAB, d_model=D_MODEL, num_heads=2, num_encoder_layers=2, num_decoder_layers=2,
                              d_ff=16, dropout=0.0, max_len=32, pad_id=PAD, attention="manual",
                              tie_weights="all").double().eval()
    load_from_ours(theirs, ours.state_dict())
    assert theirs.src_embed.weight is theirs.generator.weight is theirs.tgt_embed.weight  # PyTorch's way of tying
    loss = _loss(ours)
    logits = theirs(torch.from_numpy(src_tokens().numpy()), torch.from_numpy(tgt_tokens().numpy()))
    tloss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), torch.from_numpy(TARGETS.reshape(-1)),
                                              ignore_index=PAD, label_smoothing=0.1)
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)
    optimizer = Adam(ours.parameters(), lr=0.01, betas=(0.9, 0.98), eps=1e-9)
    toptimizer = torch.optim.Adam(theirs.parameters(), lr=0.01, betas=(0.9, 0.98), eps=1e-9)
    assert len(optimizer.params) == len(list(theirs.parameters()))  # the shared matrix counted once by both
    optimizer.zero_grad()
    loss.backward()
    tloss.backward()
    shared, tshared = ours.tgt_embed.weight, theirs.tgt_embed.weight
    np.testing.assert_allclose(shared.grad.numpy(), tshared.grad.numpy(), rtol=1e-8, atol=1e-10)
    before = shared.numpy()
    optimizer.step()
    toptimizer.step()
    np.testing.assert_allclose(shared.numpy(), tshared.detach().numpy(), rtol=1e-8, atol=1e-10)
    # Adam's first step moves each entry by about lr (m/sqrt(v) = sign(g)), not 2 lr as two updates would
    moved = np.abs(shared.numpy() - before)[np.abs(shared.grad.numpy()) > 1e-6]
    np.testing.assert_allclose(moved, 0.01, rtol=1e-3)
