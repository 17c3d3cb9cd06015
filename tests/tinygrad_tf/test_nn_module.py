"""The module system: registration, names, state dicts and their errors, modes, placement, printing."""
import re

import numpy as np
import pytest

import autograd
from autograd import Tensor
from tinygrad_tf import nn

from nn_testing import (
    D_FF, D_MODEL, HEADS, VOCAB, np_positional_table, src_tokens, tgt_tokens, tiny_transformer,
)


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.ones((2, 3)))
        self.child = nn.Linear(3, 4)
        self.register_buffer("table", Tensor(np.arange(5.0)))
        self.register_buffer("scratch", Tensor(np.zeros(2)), persistent=False)
        self.plain = Tensor(np.zeros(3))  # a plain tensor attribute is not registered
        self.number = 7

    def forward(self, x):
        return self.child(ops_matmul(x, self.w))


def ops_matmul(a, b):
    import ops

    return ops.matmul(a, b)


# ---- registration and names ----------------------------------------------------

def test_attribute_assignment_registers_parameters_modules_and_buffers():
    toy = Toy()
    assert list(toy._parameters) == ["w"]
    assert list(toy._modules) == ["child"]
    assert set(toy._buffers) == {"table", "scratch"}
    assert toy.number == 7 and isinstance(toy.plain, Tensor)
    assert [n for n, _ in toy.named_parameters()] == ["w", "child.weight", "child.bias"]
    assert [n for n, _ in toy.named_buffers()] == ["table", "scratch"]
    # Attribute access reaches the registered objects.
    assert toy.child is toy._modules["child"] and toy.w is toy._parameters["w"]
    assert toy.table is toy._buffers["table"]


def test_reassigning_an_attribute_unregisters_the_old_kind():
    toy = Toy()
    toy.w = None
    assert "w" not in toy._parameters and toy.w is None
    assert [n for n, _ in toy.named_parameters()] == ["child.weight", "child.bias"]
    toy.child = nn.Parameter(np.zeros(4))  # a module replaced by a parameter
    assert "child" not in toy._modules and "child" in toy._parameters
    del toy.child
    assert "child" not in toy._parameters
    with pytest.raises(AttributeError):
        toy.child


def test_assigning_a_tensor_to_a_buffer_name_updates_the_buffer():
    toy = Toy()
    toy.table = Tensor(np.ones(5))
    assert "table" in toy._buffers and "table" in toy.state_dict()
    np.testing.assert_array_equal(toy.state_dict()["table"], np.ones(5))
    toy.table = None  # anything else replaces the buffer with a plain attribute
    assert "table" not in toy._buffers and "table" not in toy.state_dict() and toy.table is None


def test_register_buffer_replaces_a_parameter_and_can_turn_persistence_off():
    toy = Toy()
    toy.register_buffer("w", Tensor(np.zeros(2)))
    assert "w" not in toy._parameters and "w" in toy.state_dict()
    assert [n for n, _ in toy.named_parameters()] == ["child.weight", "child.bias"]
    toy.register_buffer("table", Tensor(np.zeros(5)), persistent=False)
    assert "table" not in toy.state_dict()


def test_state_dict_order_is_registration_order():
    toy = Toy()
    for name in ("zeta", "alpha", "mid", "beta"):
        toy.register_buffer(name, Tensor(np.zeros(1)))
    assert list(toy.state_dict()) == ["w", "table", "zeta", "alpha", "mid", "beta", "child.weight", "child.bias"]


def test_assignment_before_super_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.x = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_parameter_is_a_tensor_that_requires_grad():
    p = nn.Parameter(np.zeros(3))
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf
    assert "Parameter" in repr(p)


def test_named_parameters_use_dotted_attribute_paths():
    model = tiny_transformer()
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == len(set(names))
    for expected in [
        "src_embed.weight", "tgt_embed.weight",
        "encoder.layers.0.self_attn.q_proj.weight", "encoder.layers.1.self_attn.out_proj.bias",
        "encoder.layers.0.feed_forward.linear1.weight", "encoder.layers.1.norm2.bias",
        "decoder.layers.0.self_attn.k_proj.weight", "decoder.layers.1.cross_attn.v_proj.bias",
        "decoder.layers.1.norm3.weight", "decoder.layers.0.feed_forward.linear2.bias",
        "generator.weight", "generator.bias",
    ]:
        assert expected in names, expected
    assert not any(n.startswith("encoder.norm") for n in names)  # post-norm: no final norm
    pre = [n for n, _ in tiny_transformer(norm_first=True).named_parameters()]
    assert {"encoder.norm.weight", "encoder.norm.bias", "decoder.norm.weight", "decoder.norm.bias"} <= set(pre)


def test_encoder_layer_parameter_names_are_exactly_the_documented_children():
    layer = nn.EncoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0)
    expected = {f"self_attn.{p}_proj.{w}" for p in "qkv" for w in ("weight", "bias")}
    expected |= {"self_attn.out_proj.weight", "self_attn.out_proj.bias"}
    expected |= {f"feed_forward.linear{i}.{w}" for i in (1, 2) for w in ("weight", "bias")}
    expected |= {f"norm{i}.{w}" for i in (1, 2) for w in ("weight", "bias")}
    assert {n for n, _ in layer.named_parameters()} == expected
    dec = nn.DecoderLayer(D_MODEL, HEADS, D_FF, dropout=0.0)
    names = {n for n, _ in dec.named_parameters()}
    assert {n.split(".")[0] for n in names} == {"self_attn", "cross_attn", "feed_forward", "norm1", "norm2", "norm3"}
    assert len(names) == 2 * 8 + 4 + 6


def test_module_list_registers_children_by_index():
    ml = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 1)])
    assert len(ml) == 2 and ml[1].out_features == 1 and [m.in_features for m in ml] == [2, 3]
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_clones_are_independent_copies_with_fresh_weights():
    autograd.manual_seed(0)
    stack = nn.clones(nn.Linear(4, 4), 3)
    ws = [m.weight for m in stack]
    assert len({id(w) for w in ws}) == 3
    assert not np.array_equal(ws[0].numpy(), ws[1].numpy())


def test_num_parameters_matches_a_hand_count():
    assert nn.Linear(5, 3).num_parameters() == 5 * 3 + 3
    assert nn.Linear(5, 3, bias=False).num_parameters() == 15
    assert [n for n, _ in nn.Linear(5, 3, bias=False).named_parameters()] == ["weight"]
    d, f, v = D_MODEL, D_FF, VOCAB
    mha = 4 * (d * d + d)
    ffn = d * f + f + f * d + d
    enc_layer = mha + ffn + 2 * 2 * d
    dec_layer = 2 * mha + ffn + 3 * 2 * d
    total = 2 * v * d + 2 * enc_layer + 2 * dec_layer + d * v + v
    assert tiny_transformer().num_parameters() == total
    assert tiny_transformer(norm_first=True).num_parameters() == total + 2 * 2 * d


def test_tie_weights_shares_one_parameter():
    model = tiny_transformer(tie_weights="target")
    assert model.generator.weight is model.tgt_embed.weight
    params = model.parameters()
    assert sum(p is model.tgt_embed.weight for p in params) == 1
    assert model.num_parameters() == tiny_transformer().num_parameters() - VOCAB * D_MODEL
    # Both uses send their gradient to the one parameter: it equals the sum of the
    # gradients of an untied twin's embedding and generator weights.
    twin = tiny_transformer(tie_weights=False)
    twin.load_state_dict(model.state_dict())
    assert np.array_equal(twin.generator.weight.numpy(), twin.tgt_embed.weight.numpy())
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 4, VOCAB))
    for m in (model, twin):
        (m(src_tokens(), tgt_tokens()) * Tensor(w, dtype="float64")).sum().backward()
    expected = twin.tgt_embed.weight.grad.numpy() + twin.generator.weight.grad.numpy()
    np.testing.assert_allclose(model.tgt_embed.weight.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


# ---- state dict ------------------------------------------------------------------

def test_state_dict_holds_numpy_copies_of_parameters_and_persistent_buffers():
    toy = Toy()
    state = toy.state_dict()
    assert set(state) == {"w", "child.weight", "child.bias", "table"}  # not the non-persistent buffer
    assert all(isinstance(v, np.ndarray) for v in state.values())
    state["w"][...] = 5.0
    assert np.all(toy.w.numpy() == 1.0), "state_dict must return copies"


def test_state_dict_includes_the_positional_table():
    model = tiny_transformer()
    state = model.state_dict()
    assert "positional.pe" in state
    np.testing.assert_allclose(state["positional.pe"], np_positional_table(32, D_MODEL), rtol=0, atol=1e-7)
    assert set(state) == {n for n, _ in model.named_parameters()} | {"positional.pe"}


def test_state_dict_round_trip_into_a_fresh_model_gives_identical_outputs():
    a = tiny_transformer(seed=1)
    b = tiny_transformer(seed=2)
    src, tgt = src_tokens(), tgt_tokens()
    out_a = a(src, tgt).numpy()
    assert not np.allclose(out_a, b(src, tgt).numpy()), "different seeds should give different models"
    ids = {n: id(p) for n, p in b.named_parameters()}
    b.load_state_dict(a.state_dict())
    assert {n: id(p) for n, p in b.named_parameters()} == ids, "loading must copy in place"
    np.testing.assert_array_equal(b(src, tgt).numpy(), out_a)
    for name, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[name], value)


def test_load_state_dict_casts_to_the_model_dtype():
    a = tiny_transformer(seed=1, dtype=None)  # float32
    b = tiny_transformer(seed=2, dtype="float64")
    b.load_state_dict(a.state_dict())
    assert all(p.dtype == np.float64 for p in b.parameters())
    np.testing.assert_allclose(b(src_tokens(), tgt_tokens()).numpy(), a(src_tokens(), tgt_tokens()).numpy(),
                               rtol=1e-4, atol=1e-5)


def test_load_state_dict_accepts_tensors():
    lin = nn.Linear(2, 2)
    lin.load_state_dict({"weight": Tensor(np.eye(2)), "bias": np.array([1.0, 2.0])})
    np.testing.assert_array_equal(lin.weight.numpy(), np.eye(2))
    np.testing.assert_array_equal(lin.bias.numpy(), [1.0, 2.0])


def test_missing_keys_name_every_key():
    model = tiny_transformer()
    state = model.state_dict()
    gone = ["decoder.layers.1.norm3.bias", "encoder.layers.0.self_attn.q_proj.weight", "positional.pe"]
    for k in gone:
        del state[k]
    with pytest.raises(KeyError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "missing" in message
    for k in gone:
        assert k in message


def test_unexpected_keys_name_every_key():
    model = tiny_transformer()
    state = model.state_dict()
    extra = {"encoder.layers.7.norm1.weight": np.ones(D_MODEL), "bogus": np.zeros(1), "generator.scale": np.ones(1)}
    state.update(extra)
    with pytest.raises(KeyError) as info:
        model.load_state_dict(state, strict=True)
    message = str(info.value)
    assert "unexpected" in message
    for k in extra:
        assert k in message


def test_missing_and_unexpected_keys_are_reported_together():
    lin = nn.Linear(3, 2)
    with pytest.raises(KeyError) as info:
        lin.load_state_dict({"weight": np.zeros((2, 3)), "weights": np.zeros((2, 3))})
    message = str(info.value)
    assert "missing" in message and "bias" in message
    assert "unexpected" in message and "weights" in message


def test_shape_mismatch_names_the_key_and_both_shapes():
    model = tiny_transformer()
    state = model.state_dict()
    state["generator.weight"] = np.zeros((VOCAB + 1, D_MODEL))
    state["encoder.layers.1.norm1.bias"] = np.zeros(D_MODEL + 2)
    before = model.state_dict()
    with pytest.raises(ValueError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "generator.weight" in message and "encoder.layers.1.norm1.bias" in message
    assert str((VOCAB + 1, D_MODEL)) in message and str((VOCAB, D_MODEL)) in message
    assert str((D_MODEL + 2,)) in message and str((D_MODEL,)) in message
    # Nothing was half-loaded.
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    with pytest.raises(ValueError, match="generator.weight"):
        model.load_state_dict(state, strict=False)


def test_non_strict_load_tolerates_missing_and_unexpected_keys():
    a, b = tiny_transformer(seed=1), tiny_transformer(seed=2)
    state = a.state_dict()
    del state["generator.bias"]
    state["something.else"] = np.zeros(3)
    kept = b.generator.bias.numpy()
    b.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(b.generator.bias.numpy(), kept)
    np.testing.assert_array_equal(b.generator.weight.numpy(), a.generator.weight.numpy())
    np.testing.assert_array_equal(b.encoder.layers[1].norm2.weight.numpy(), a.encoder.layers[1].norm2.weight.numpy())


# ---- modes -------------------------------------------------------------------------

def test_train_and_eval_set_the_flag_on_every_descendant():
    model = tiny_transformer(dropout=0.1)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not any(m.training for m in model.modules())
    model.decoder.train()
    assert model.decoder.layers[1].feed_forward.dropout.training and not model.encoder.training


def test_dropout_is_active_in_training_and_off_in_eval():
    autograd.manual_seed(0)
    model = tiny_transformer(dropout=0.3)
    src, tgt = src_tokens(), tgt_tokens()
    a, b = model(src, tgt).numpy(), model(src, tgt).numpy()
    assert not np.allclose(a, b), "two training-mode calls should draw different dropout masks"
    model.eval()
    c, d = model(src, tgt).numpy(), model(src, tgt).numpy()
    np.testing.assert_array_equal(c, d)
    # Eval with dropout 0.3 equals a dropout-free twin with the same weights.
    twin = tiny_transformer(dropout=0.0)
    twin.load_state_dict(model.state_dict())
    np.testing.assert_allclose(c, twin(src, tgt).numpy(), rtol=1e-12, atol=1e-12)


# ---- placement, dtype, gradients ------------------------------------------------

def test_to_dtype_casts_parameters_buffers_and_grads_keeping_identity():
    model = tiny_transformer(dtype=None)
    assert all(p.dtype == np.float32 for p in model.parameters())
    model(src_tokens(), tgt_tokens()).sum().backward()
    before = {n: id(p) for n, p in model.named_parameters()}
    values = {n: p.numpy() for n, p in model.named_parameters()}
    assert model.to(dtype="float64") is model
    assert {n: id(p) for n, p in model.named_parameters()} == before
    for n, p in model.named_parameters():
        assert p.dtype == np.float64 and p.requires_grad
        assert p.grad is not None and p.grad.dtype == np.float64, n
        np.testing.assert_array_equal(p.numpy(), values[n].astype(np.float64))
    assert model.positional.pe.dtype == np.float64
    assert model(src_tokens(), tgt_tokens()).dtype == np.float64


def test_to_device_keeps_parameter_identity(device):
    model = tiny_transformer()
    before = {n: id(p) for n, p in model.named_parameters()}
    ref = model(src_tokens(), tgt_tokens()).numpy()
    assert model.to(device) is model
    assert {n: id(p) for n, p in model.named_parameters()} == before
    assert all(p.device == device for p in model.parameters())
    assert model.positional.pe.device == device
    out = model(src_tokens().to(device), tgt_tokens().to(device))
    assert out.device == device
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-10)
    state = model.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    fresh = tiny_transformer(seed=5).to(device)
    fresh.load_state_dict(state)
    assert all(p.device == device for p in fresh.parameters())
    np.testing.assert_allclose(fresh(src_tokens().to(device), tgt_tokens().to(device)).numpy(), ref,
                               rtol=1e-10, atol=1e-10)
    model.to("cpu")
    assert all(p.device == "cpu" for p in model.parameters())


def test_to_rejects_an_unknown_device():
    with pytest.raises(ValueError, match="tpu"):
        nn.Linear(2, 2).to("tpu")


def test_zero_grad_forgets_every_gradient():
    model = tiny_transformer()
    model(src_tokens(), tgt_tokens()).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_gradients_accumulate_until_zero_grad():
    lin = nn.Linear(3, 2).to(dtype="float64")
    x = Tensor(np.arange(6.0).reshape(2, 3), dtype="float64")
    lin(x).sum().backward()
    first = lin.weight.grad.numpy()
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), 2 * first)
    np.testing.assert_allclose(first, np.tile(x.numpy().sum(0), (2, 1)))


# ---- printing and graph tags --------------------------------------------------------

def test_repr_is_a_tree_naming_every_child():
    text = repr(tiny_transformer())
    assert text.startswith("Transformer(")
    for child in ["(src_embed): Embedding(", "(positional): PositionalEncoding(", "(encoder): Encoder(",
                  "(layers): ModuleList(", "(0): EncoderLayer(", "(self_attn): MultiHeadAttention(",
                  "(q_proj): Linear(in_features=8, out_features=8, bias=True)", "(feed_forward): FeedForward(",
                  "(norm1): LayerNorm(", "(decoder): Decoder(", "(cross_attn): MultiHeadAttention(",
                  "(generator): Linear(in_features=8, out_features=11, bias=True)"]:
        assert child in text, child
    # Children are indented under their parents.
    assert re.search(r"\n {6}\(0\): EncoderLayer\(", text)
    assert repr(nn.Linear(2, 3)) == "Linear(in_features=2, out_features=3, bias=True)"


def test_calling_a_module_tags_graph_nodes_with_its_dotted_path():
    model = tiny_transformer()
    out = model(src_tokens(), tgt_tokens())
    assert out.grad_fn.module == "generator"
    modules = {t.grad_fn.module for t in autograd.topological_order(out) if t.grad_fn is not None}
    for path in ["encoder.layers.0.self_attn.q_proj", "encoder.layers.1.feed_forward.linear2",
                 "decoder.layers.0.cross_attn", "decoder.layers.1.norm3", "positional", "src_embed",
                 "tgt_embed", "encoder.layers.0.self_attn"]:
        assert path in modules, path
    assert model.decoder.layers[1].cross_attn.k_proj.path == "decoder.layers.1.cross_attn.k_proj"
    assert model.path is None
    # Outside any module call nothing is tagged.
    assert autograd.current_module() is None
    x = Tensor(np.ones(2), requires_grad=True)
    assert (x * 2).grad_fn.module is None


def test_standalone_module_tags_children_relative_to_itself():
    mha = nn.MultiHeadAttention(D_MODEL, HEADS)
    x = Tensor(np.ones((1, 3, D_MODEL)))
    out = mha(x, x, x)
    assert out.grad_fn.module == "out_proj"
    modules = {t.grad_fn.module for t in autograd.topological_order(out) if t.grad_fn is not None}
    assert {"q_proj", "k_proj", "v_proj", "out_proj"} <= modules
