"""Encoder-decoder attention: the decoder's queries against the encoder's keys and values.

Paper: "Attention Is All You Need", section 3.2.3 (Applications of Attention):

    "In 'encoder-decoder attention' layers, the queries come from the
     previous decoder layer, and the memory keys and values come from the
     output of the encoder. This allows every position in the decoder to
     attend over all positions in the input sequence."

It is the same multi-head attention as self-attention, with one difference:
the queries are computed from the target side and the keys and values from
the source side, so the weights form a (target length x source length)
rectangle. Row i says which source words the decoder reads while producing
target word i + 1. The source is padded to a common length in a batch; its
padding mask (True on real tokens) sets the scores of padded positions to
-inf, so they receive exactly 0 weight and nothing the encoder wrote there
can reach the decoder.

This script embeds a short English source ("the black cat sleeps", padded to
5) and a Spanish target ("<s> el gato negro", the translation shifted right),
runs an `nn.EncoderLayer` and an `nn.DecoderLayer` (untrained, so which word
attends to which is arbitrary -- training is what would make "negro" look at
"black"), prints the cross-attention weights with word labels, recomputes
them by hand from the decoder's queries and the encoder's keys, and shows
the padded position is ignored.

Run:  python examples/06_encoder_decoder_attention.py
"""
import math
import os
import sys

import numpy as np

# Let the script run from a plain checkout (without `pip install -e .`).
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import autograd  # noqa: E402
import ops  # noqa: E402
from autograd import Tensor  # noqa: E402
from tinygrad_tf import nn  # noqa: E402

PAD = 0
SRC_VOCAB = ["<pad>", "the", "black", "cat", "sleeps"]
TGT_VOCAB = ["<pad>", "<s>", "el", "gato", "negro", "duerme"]
SOURCE = ["the", "black", "cat", "sleeps", "<pad>"]  # padded to the batch length, 5
TARGET = ["<s>", "el", "gato", "negro"]  # decoder input: "el gato negro duerme" shifted right
D_MODEL, NUM_HEADS, D_FF = 16, 2, 32


def step(number, title):
    print(f"\nStep {number}: {title}")


def show_weights(name, array):
    """Print a (target x source) weight matrix with words on both axes."""
    print(f"  {name}  shape {array.shape}   (rows: target word = query, columns: source word = key)")
    print("  " + " " * 8 + "".join(f"{w:>8}" for w in SOURCE))
    for word, row in zip(TARGET, array):
        print(f"  {word:>8}" + "".join(f"{v:8.3f}" for v in row) + f"   sum {row.sum():.3f}")


def main():
    """Run the walkthrough; return the memory, the decoder's queries, the cross-attention weights and checks."""
    autograd.manual_seed(0)  # every module's initial weights
    d_k = D_MODEL // NUM_HEADS

    step(1, "token ids, embeddings (x sqrt(d_model)) plus positions")
    src = Tensor(np.array([[SRC_VOCAB.index(w) for w in SOURCE]]))  # (batch 1, src_len 5)
    tgt = Tensor(np.array([[TGT_VOCAB.index(w) for w in TARGET]]))  # (batch 1, tgt_len 4)
    src_embed = nn.Embedding(len(SRC_VOCAB), D_MODEL, padding_idx=PAD)
    tgt_embed = nn.Embedding(len(TGT_VOCAB), D_MODEL, padding_idx=PAD)
    positional = nn.PositionalEncoding(D_MODEL, dropout=0.0).eval()
    src_x = positional(src_embed(src) * math.sqrt(D_MODEL))  # (1, 5, 16)
    tgt_x = positional(tgt_embed(tgt) * math.sqrt(D_MODEL))  # (1, 4, 16)
    print(f"  source {SOURCE} ids {src.numpy()[0].tolist()} -> {src_x.shape}")
    print(f"  target {TARGET} ids {tgt.numpy()[0].tolist()} -> {tgt_x.shape}")

    step(2, "masks: padding on the source, causal on the target")
    src_mask = ops.padding_mask(src, PAD)  # (batch, 1, 1, src_len): True on real tokens
    tgt_mask = ops.causal_mask(len(TARGET))  # (tgt_len, tgt_len)
    print(f"  src_mask {src_mask.shape}: {src_mask.numpy().ravel().tolist()}")
    print(f"  tgt_mask {tgt_mask.shape} (lower triangle)")

    step(3, "the encoder turns the source into the memory")
    encoder_layer = nn.EncoderLayer(D_MODEL, NUM_HEADS, D_FF, dropout=0.0).eval()
    memory = encoder_layer(src_x, src_mask)  # (1, src_len, d_model): one vector per source word
    print(f"  memory {memory.shape}")

    step(4, "the decoder layer: masked self-attention, then cross-attention over the memory")
    decoder_layer = nn.DecoderLayer(D_MODEL, NUM_HEADS, D_FF, dropout=0.0).eval()
    out = decoder_layer(tgt_x, memory, src_mask, tgt_mask)  # (1, tgt_len, d_model)
    cross_weights = decoder_layer.cross_attn.attention_weights.numpy()  # (batch, heads, tgt_len, src_len)
    print(f"  decoder output {out.shape}; cross-attention weights {cross_weights.shape}")
    for h in range(NUM_HEADS):
        show_weights(f"head {h + 1}", cross_weights[0, h])
    pad_column = SOURCE.index("<pad>")
    pad_weight_zero = bool(np.all(cross_weights[..., pad_column] == 0.0))
    print(f"  weight on the padded source position is exactly 0 in every row and head: {pad_weight_zero}")

    step(5, "by hand: queries from the decoder, keys and values from the encoder")
    cross = decoder_layer.cross_attn
    # The cross-attention's query input is the output of the first sublayer,
    # LayerNorm(x + SelfAttention(x)) (post-norm, dropout 0).
    decoder_states = decoder_layer.norm1(tgt_x + decoder_layer.self_attn(tgt_x, tgt_x, tgt_x, tgt_mask))

    def split_heads(t):  # (1, len, d_model) -> (1, heads, len, d_k)
        return t.reshape(1, t.shape[1], NUM_HEADS, d_k).swapaxes(1, 2)

    Q = split_heads(cross.q_proj(decoder_states))  # from the target side: (1, 2, 4, 8)
    K = split_heads(cross.k_proj(memory))  # from the source side: (1, 2, 5, 8)
    V = split_heads(cross.v_proj(memory))  # from the source side: (1, 2, 5, 8)
    scores = ops.matmul(Q, K.swapaxes(-1, -2)) / math.sqrt(d_k)  # (1, 2, tgt_len 4, src_len 5)
    scores = ops.masked_fill(scores, ~src_mask, -math.inf)  # (1, 1, 1, 5) broadcasts over heads and rows
    by_hand = ops.softmax(scores, axis=-1)
    print(f"  Q {Q.shape} (decoder)  K {K.shape}, V {V.shape} (encoder)  ->  weights {by_hand.shape}")
    same_weights = np.allclose(by_hand.numpy(), cross_weights, atol=1e-6)
    print(f"  equal to the layer's cross_attn.attention_weights: {same_weights}")
    context = ops.matmul(by_hand, V)  # (1, 2, 4, 8): for each target word, a mix of source words
    print(f"  weights V -> {context.shape}: each target word gets a mixture of source-word values")

    step(6, "what the encoder wrote at the padded position cannot reach the decoder")
    noise = np.zeros(memory.shape)
    noise[0, pad_column] = 100.0
    out_pad_changed = decoder_layer(tgt_x, memory + Tensor(noise), src_mask, tgt_mask)
    noise_real = np.zeros(memory.shape)
    noise_real[0, SOURCE.index("cat")] = 100.0
    out_real_changed = decoder_layer(tgt_x, memory + Tensor(noise_real), src_mask, tgt_mask)
    pad_change = float(np.abs(out_pad_changed.numpy() - out.numpy()).max())
    real_change = float(np.abs(out_real_changed.numpy() - out.numpy()).max())
    print(f"  change memory at '<pad>' by 100: decoder output moves by {pad_change:.3g}")
    print(f"  change memory at 'cat'   by 100: decoder output moves by {real_change:.3g}")

    return {
        "source": list(SOURCE), "target": list(TARGET), "pad_column": pad_column,
        "src_mask": src_mask.numpy(), "memory": memory.numpy(),
        "decoder_states": decoder_states.numpy(),
        "q_proj_weight": cross.q_proj.weight.numpy(), "q_proj_bias": cross.q_proj.bias.numpy(),
        "k_proj_weight": cross.k_proj.weight.numpy(), "k_proj_bias": cross.k_proj.bias.numpy(),
        "num_heads": NUM_HEADS,
        "cross_weights": cross_weights, "by_hand_weights": by_hand.numpy(),
        "pad_weight_zero": pad_weight_zero, "same_weights": same_weights,
        "output": out.numpy(), "output_pad_changed": out_pad_changed.numpy(),
        "output_real_changed": out_real_changed.numpy(),
    }


if __name__ == "__main__":
    main()
