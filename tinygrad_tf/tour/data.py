"""The numbers of each picture, as NumPy arrays, computed from the subject's model.

One function per picture (`embeddings_data`, ..., `decoding_data`), each
returning a small dataclass that the matching `draw_*` function draws. They
are separate so a notebook or a test can look at the numbers themselves.
"""
import dataclasses

import numpy as np

import ops
from autograd import no_grad

from ..data import Vocab
from ..nn import sinusoid_table
from . import capture


def _check_index(what, value, count):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not 0 <= value < count:
        raise ValueError(f"tour: {what} must be an integer from 0 to {count - 1}, got {value!r}")
    return int(value)


def find_word(subject, word, what="--word"):
    """The source position of `word`: an index, a token ("it"; its first occurrence) or None for a default.

    The default is the first pronoun-like token ("it", "he", "she", "they") or else the first token.
    A word is looked for as written in the sentence (`subject.src_words`), known to the model or not.
    """
    tokens = subject.src_words
    if word is None:
        return next((i for i, t in enumerate(tokens) if t in ("it", "he", "she", "they", "él", "ella")), 0)
    if isinstance(word, str) and not word.lstrip("-").isdigit():
        if word.lower() not in tokens:
            raise ValueError(f"tour: {what} {word!r} is not a token of the sentence; its tokens are {' '.join(tokens)}")
        return tokens.index(word.lower())
    return _check_index(what, int(word), len(tokens))


@dataclasses.dataclass
class EmbeddingData:
    """01: rows of the source tokens: embedding, ×√d_model, + positional encoding; each (len, d_model)."""

    tokens: list
    embedded: np.ndarray
    scaled: np.ndarray
    positioned: np.ndarray

    @property
    def d_model(self):
        return self.embedded.shape[1]


def embeddings_data(subject):
    embedded, scaled, positioned = capture.source_embedding(subject)
    return EmbeddingData(subject.src_tokens, embedded.numpy()[0], scaled.numpy()[0], positioned.numpy()[0])


@dataclasses.dataclass
class StackData:
    """02: the model's structure: its stacks' sublayers (module paths) and widths."""

    encoder_layers: list
    decoder_layers: list
    d_model: int
    num_heads: int
    d_ff: int
    norm_first: bool
    src_vocab: int
    tgt_vocab: int
    src_tokens: list
    tgt_tokens: list


def _sublayers(layer, names):
    return [(name, type(getattr(layer, name)).__name__, getattr(layer, name).path) for name in names]


def stacks_data(subject):
    model = subject.model
    enc = [_sublayers(layer, ("self_attn", "norm1", "feed_forward", "norm2")) for layer in model.encoder.layers]
    dec = [_sublayers(layer, ("self_attn", "norm1", "cross_attn", "norm2", "feed_forward", "norm3"))
           for layer in model.decoder.layers]
    first = model.encoder.layers[0]
    return StackData(enc, dec, model.d_model, first.self_attn.num_heads, first.feed_forward.linear1.weight.shape[0],
                     first.norm_first, model.src_embed.weight.shape[0], model.generator.weight.shape[0],
                     subject.src_tokens, subject.tgt_tokens)


@dataclasses.dataclass
class AttentionData:
    """03-07, 10, 11: one attention call taken apart (`capture.AttentionParts`) with its labels.

    `queries` and `keys` are the tokens of the rows and columns; `head` and
    `word` (a query row) are the ones the picture follows.
    """

    kind: str
    layer: int
    head: int
    word: int
    queries: list
    keys: list
    parts: capture.AttentionParts


def self_attention_data(subject, layer=0, head=0, word=None):
    """Encoder layer `layer`'s self-attention on the sentence (pictures 03-07)."""
    layer = _check_index("--layer", layer, len(subject.model.encoder.layers))
    head = _check_index("--head", head, subject.model.encoder.layers[layer].self_attn.num_heads)
    parts = capture.encoder_self_attention(subject, layer)
    return AttentionData("encoder self-attention", layer, head, find_word(subject, word),
                         subject.src_tokens, subject.src_tokens, parts)


def cross_attention_data(subject, layer=0, head=0):
    """Decoder layer `layer`'s attention over the encoder output (picture 10)."""
    layer = _check_index("--layer", layer, len(subject.model.decoder.layers))
    head = _check_index("--head", head, subject.model.decoder.layers[layer].cross_attn.num_heads)
    parts = capture.cross_attention(subject, layer)
    return AttentionData("cross-attention", layer, head, 0, decoder_rows(subject), subject.src_tokens, parts)


def causal_data(subject, layer=0, head=0):
    """Decoder layer `layer`'s masked self-attention (picture 11)."""
    layer = _check_index("--layer", layer, len(subject.model.decoder.layers))
    head = _check_index("--head", head, subject.model.decoder.layers[layer].self_attn.num_heads)
    parts = capture.decoder_self_attention(subject, layer)
    return AttentionData("decoder masked self-attention", layer, head, 0, decoder_rows(subject), subject.tgt_tokens,
                         parts)


def decoder_rows(subject):
    """A label per decoder position: 'input → predicted' (the token it reads → the token it wrote there).

    Row i reads the decoder's input token i and predicts output token i, so a
    row is about the word being written, not the word read.
    """
    return [f"{read} → {wrote}" for read, wrote in zip(subject.tgt_tokens, subject.output_tokens)]


@dataclasses.dataclass
class PositionalData:
    """08: the sinusoid table (positions, d_model): even columns sin, odd columns cos."""

    table: np.ndarray

    @property
    def halves(self):
        """The explainer's layout: all sin columns, then all cos columns (positions, d_model)."""
        return np.concatenate([self.table[:, 0::2], self.table[:, 1::2]], axis=1)


def positional_data(positions=20, d_model=512):
    """The table `nn.PositionalEncoding` adds (the paper's d_model=512 by default)."""
    if positions < 1 or d_model < 2:
        raise ValueError(f"tour: the positional table needs positions >= 1 and d_model >= 2, got {positions} and {d_model}")
    return PositionalData(sinusoid_table(positions, d_model))


@dataclasses.dataclass
class ResidualData:
    """09: the first sublayer (self-attention) of encoder layer `layer`, per token; each (len, d_model).

    `steps` is [(label, array)] in the order the layer computes them: for
    post-norm input, sublayer output, sum, LayerNorm(sum); for pre-norm
    input, LayerNorm(input), sublayer output, sum.
    """

    tokens: list
    layer: int
    norm_first: bool
    steps: list

    @property
    def result(self):
        return self.steps[-1][1]


def residual_norm_data(subject, layer=0):
    layer = _check_index("--layer", layer, len(subject.model.encoder.layers))
    block = subject.model.encoder.layers[layer]
    x, mask = capture.encoder_layer_input(subject, layer)
    with no_grad():
        if block.norm_first:
            normed = block.norm1(x)
            out = block.self_attn(normed, normed, normed, mask)
            steps = [("input x", x), ("LayerNorm(x)", normed), ("self-attention output", out), ("x + output", x + out)]
        else:
            out = block.self_attn(x, x, x, mask)
            summed = x + out
            steps = [("input x", x), ("self-attention(x)", out), ("x + self-attention(x)", summed),
                     ("LayerNorm(x + self-attention(x))", block.norm1(summed))]
    return ResidualData(subject.src_tokens, layer, block.norm_first, [(label, t.numpy()[0]) for label, t in steps])


@dataclasses.dataclass
class DecodingStep:
    """One greedy step, as the generator computes it.

    Attributes:
        prefix: the tokens the decoder read; hidden: (d_model,) its output at the last position.
        logits: (vocab,) generator(hidden) = hidden · Wᵀ + b; probs: (vocab,) their softmax.
        top_tokens, top_probs: the k likeliest tokens (never <pad> or <bos>) and their probabilities.
        chosen: the token appended (the likeliest); became: the word the translation shows for it
            (a chosen <unk> becomes the source word it was aligned with), None after the end.
    """

    prefix: list
    top_tokens: list
    top_probs: np.ndarray
    chosen: str
    hidden: np.ndarray = None
    logits: np.ndarray = None
    probs: np.ndarray = None
    top_ids: list = None
    became: str = None


def decoding_data(subject, k=5):
    """12: greedy decoding step by step, re-reading the growing prefix as `decode.greedy_decode` does.

    Probabilities are the softmax of the generator's logits; <pad> and <bos>
    are never chosen (as in greedy decoding), so they are left out of the top-k.
    """
    model, itos = subject.model, subject.tgt_vocab.itos
    mem, src_mask = capture.memory(subject)
    ys, steps = [Vocab.bos_id], []
    with no_grad():
        for position, _ in enumerate(subject.out_ids):
            hidden = model.decode(mem, src_mask, subject.tensor(np.array([ys], dtype=np.int64)))[:, -1]  # (1, d_model)
            logits = model.generator(hidden)
            probs = ops.softmax(logits, axis=-1).numpy()[0]  # (vocab,)
            probs_allowed = probs.copy()
            probs_allowed[[Vocab.pad_id, Vocab.bos_id]] = -1.0
            top = np.argsort(-probs_allowed, kind="stable")[:k]
            words = subject.output_words
            steps.append(DecodingStep([itos[i] for i in ys], [itos[i] for i in top], probs[top], itos[top[0]],
                                      hidden.numpy()[0], logits.numpy()[0], probs, [int(i) for i in top],
                                      words[position] if position < len(words) else None))
            ys.append(int(top[0]))
    return steps
