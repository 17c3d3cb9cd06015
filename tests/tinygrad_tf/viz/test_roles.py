"""Roles: the part each node plays in the model, named where the model calls the op, read by every view."""
import numpy as np
import pytest

import ops
from autograd import Tensor, manual_seed, mark
from tinygrad_tf import nn
from tinygrad_tf.viz import describe


def _transformer(seed=0):
    manual_seed(seed)
    model = nn.Transformer(11, 11, d_model=8, num_heads=2, num_encoder_layers=1, num_decoder_layers=1,
                           d_ff=16, dropout=0.0, max_len=16).eval()
    src = Tensor([[3, 4, 5, 0]])
    tgt = Tensor([[1, 6, 7]])
    return model, model(src, tgt)


def test_mark_names_the_node_and_leaves_leaves_alone():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = mark(x * 2, "doubled")
    assert y._ctx.role == "doubled"
    assert mark(x, "input") is x and x._ctx is None
    constant = Tensor([1.0]) * 2  # nothing recorded: no node to name
    assert mark(constant, "c") is constant


def test_every_attention_concept_is_a_named_node():
    _, logits = _transformer()
    d = describe(logits)
    roles = {}
    for node in d.nodes:
        if node.role:
            roles.setdefault(node.role, set()).add(node.module)
    assert roles["scores QKᵀ"] == {"encoder.layers.0.self_attn", "decoder.layers.0.self_attn", "decoder.layers.0.cross_attn"}
    assert roles["Q"] == {f"{m}.q_proj" for m in roles["scores QKᵀ"]}
    assert roles["mask (padding)"] == {"encoder.layers.0.self_attn", "decoder.layers.0.cross_attn"}
    assert roles["mask (causal and padding)"] == {"decoder.layers.0.self_attn"}
    for role in ("K", "V", "Kᵀ", "split heads", "scale 1/√d_k", "attention weights", "weights × V", "merge heads",
                 "W_O (output projection)", "× √d_model", "+ positional table", "residual x + sublayer",
                 "encoder output (memory)", "logits"):
        assert role in roles, role
    # the memory is the encoder's last node, and the cross-attention's K and V are made from it
    (memory,) = [n for n in d.nodes if n.role == "encoder output (memory)"]
    assert memory.module == "encoder.layers.0.norm2"
    users = {e.target for e in d.edges if e.source == memory.id}
    user_roles = {d.nodes[int(u[1:])].role for u in users}
    assert {"K", "V"} <= user_roles


def test_masks_are_drawn_as_the_api_means_them():
    _, logits = _transformer()
    d = describe(logits)
    masks = {n.name: n for n in d.nodes if n.kind == "constant" and n.name and "mask" in n.name}
    causal = masks["causal and padding mask (True = may attend)"].tensor.numpy()
    assert causal.shape == (1, 1, 3, 3)
    assert np.array_equal(causal[0, 0], np.tril(np.ones((3, 3), dtype=bool)))  # True = may attend
    padding = masks["padding mask (True = real token)"].tensor.numpy()
    assert padding.reshape(-1).tolist() == [True, True, True, False]


def test_where_keeps_the_scores_the_mask_allows():
    """The mask node's output equals the scores where the mask is True and -inf elsewhere."""
    manual_seed(1)
    attn = nn.MultiHeadAttention(8, 2)
    x = Tensor(np.random.default_rng(0).normal(size=(1, 3, 8)), requires_grad=True)
    out = attn(x, x, x, ops.causal_mask(3))
    d = describe(out)
    (scaled,) = [n for n in d.nodes if n.role == "scale 1/√d_k"]
    (masked,) = [n for n in d.nodes if n.role == "mask (causal)"]
    keep = np.tril(np.ones((3, 3), dtype=bool))
    s, m = scaled.tensor.numpy(), masked.tensor.numpy()
    assert np.array_equal(m[..., keep], s[..., keep]) and np.all(np.isneginf(m[..., ~keep]))


def test_description_gradients_are_backwards_own():
    model, logits = _transformer(seed=3)
    loss = ops.cross_entropy(logits, Tensor([[6, 7, 2]]))
    d = describe(loss, backward=True, check=False)
    data = d.to_dict(value_limit=10**6)
    by_name = {n["name"]: n for n in data["nodes"] if n["kind"] == "parameter"}
    other = _transformer(seed=3)[0]
    ops.cross_entropy(other(Tensor([[3, 4, 5, 0]]), Tensor([[1, 6, 7]])), Tensor([[6, 7, 2]])).backward()
    for name, p in other.named_parameters():
        if p.grad is None:
            continue
        assert np.allclose(np.array(by_name[name]["grad"], dtype=np.float64), p.grad.numpy(), rtol=1e-4, atol=1e-7), name
    ids = {n["id"] for n in data["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in data["edges"])
    assert [s["index"] for s in data["steps"]] == list(range(len(data["steps"])))


def test_to_dict_respects_the_value_limit():
    _, logits = _transformer()
    data = describe(logits).to_dict(value_limit=20)
    for node in data["nodes"]:
        size = int(np.prod(node["shape"]))
        assert (node["value"] is None) == (size > 20)
        assert node["summary"] is not None
    with pytest.raises(ValueError, match="single value"):
        describe(logits, backward=True)
