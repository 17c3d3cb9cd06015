"""The small models every view draws or walks: attention, an encoder or decoder layer, a
whole Transformer, an MLP; with random (seeded) weights or a trained checkpoint's.

    from tinygrad_tf.viz import specimens
    s = specimens.random_specimen("attention", d_model=16, heads=2, seq_len=4, seed=0)
    s.output                                  # the model's output on seeded random inputs
    loss = specimens.loss_of(s)               # MSE against a fixed random target (cross-entropy
                                              # against target tokens for the Transformer)
    s = specimens.checkpoint_specimen("transformer", "runs/copy", sentence="3 1 4")
    s.tokens                                  # {"src": [...], "tgt": [...]}: labels of the axes

`tinygrad-tf graph`, `tinygrad-tf step` and `tinygrad-tf explore` build their
models here. Dropout is off everywhere (eval mode, or p = 0): the graphs and
their numbers repeat from run to run.
"""
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

import ops
from autograd import Tensor, manual_seed, mark, no_grad

from .. import nn
from ..data import Vocab
from .reading import read_with, run_task

MODELS = ("attention", "encoder-layer", "decoder-layer", "transformer", "mlp")
RANDOM_VOCAB = 11  # the random Transformer's vocabulary (ids 0..10, 0 = padding)


@dataclass
class Specimen:
    """A model run forward once, ready to be drawn or walked backward.

    Attributes:
        name: one of MODELS.
        title: what it is, in one line ("multi-head self-attention, causal mask: d_model=16, ...").
        root: the module owning every parameter (its children's paths name the clusters).
        output: the model's output (a Tensor; logits for the Transformer).
        target: what `loss_of` compares the output with (a Tensor), or None until then.
        tokens: {"src": [...], "tgt": [...]} the words at each position of the first
            sequence (a checkpoint's vocabulary), or {} for models fed random vectors.
        queries_keys: {module path prefix: ("src" or "tgt", "src" or "tgt")}: which
            tokens label the query and key axes of the attention under that path.
        decoding: greedy decoding of the sentence, one dict per output step with the
            top-k next tokens and their probabilities; None without a sentence.
        warnings: what the learner should know first (a sentence the model cannot read, `viz.reading`).
        loss: (words, formula) of the loss `loss_of` computes, once it ran.
    """

    name: str
    title: str
    root: nn.Module
    output: Tensor
    target: Optional[Tensor] = None
    tokens: dict = field(default_factory=dict)
    queries_keys: dict = field(default_factory=dict)
    decoding: Optional[list] = None
    warnings: list = field(default_factory=list)
    loss: Optional[tuple] = None

    def axis_tokens(self, module):
        """(query tokens, key tokens) for the attention run in `module`, or None where unknown."""
        if not self.tokens or module is None:
            return None
        best = max((p for p in self.queries_keys if module == p or module.startswith(p + ".") or p == ""),
                   key=len, default=None)
        if best is None:
            return None
        q, k = self.queries_keys[best]
        return self.tokens.get(q), self.tokens.get(k)


def make_module(name, d_model, heads, d_ff, layers=2, vocab=RANDOM_VOCAB, max_len=16, child=None):
    """A freshly initialised model (dropout 0) inside a holder whose child names its clusters.

    The child is `self_attn`, `encoder_layer` or `decoder_layer` (`child` renames a
    layer), or `linear1` and `linear2` (mlp); the Transformer is returned as it is.
    """
    if name == "transformer":
        return nn.Transformer(vocab, vocab, d_model, heads, layers, layers, d_ff, dropout=0.0, max_len=max_len, pad_id=0)
    holder = nn.Module()
    if name == "attention":
        setattr(holder, "self_attn", nn.MultiHeadAttention(d_model, heads))
    elif name == "encoder-layer":
        setattr(holder, child or "encoder_layer", nn.EncoderLayer(d_model, heads, d_ff, dropout=0.0))
    elif name == "decoder-layer":
        setattr(holder, child or "decoder_layer", nn.DecoderLayer(d_model, heads, d_ff, dropout=0.0))
    elif name == "mlp":
        holder.linear1 = nn.Linear(d_model, d_ff)
        holder.linear2 = nn.Linear(d_ff, d_model)
    else:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return holder


def _inputs(rng, batch, length, d_model, requires_grad=True):
    x = Tensor(rng.normal(size=(batch, length, d_model)), requires_grad=requires_grad)
    return x


def random_tokens(rng, batch, length, vocab, pad_id=0):
    """Random ids, never `pad_id`, with the last position of the second sequence padded."""
    ids = rng.integers(0, vocab - 1, size=(batch, length))
    ids[ids >= pad_id] += 1
    if length > 1 and batch > 1:
        ids[1, -1] = pad_id
    return Tensor(ids)


def random_specimen(name, d_model=16, heads=2, layers=2, seq_len=4, seed=0, fused=True, batch=2, rng=None):
    """`name` with freshly initialised (seeded) weights, run on seeded random inputs.

    Args:
        name: one of MODELS.
        fused: run Linear and LayerNorm as one node each (False: their primitive ops).
        batch: sequences in the batch (the second one's last token is padding where
            the model reads tokens).
        rng: a NumPy Generator to draw the inputs from (default: seeded with `seed`).
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    if name != "mlp" and d_model % heads:
        raise ValueError(f"d_model {d_model} is not divisible by heads {heads}")
    manual_seed(seed)
    rng = np.random.default_rng(seed) if rng is None else rng
    sizes = f"d_model={d_model}, heads={heads}, seq_len={seq_len}"
    d_ff = (2 if name == "mlp" else 4) * d_model
    root = nn.set_fused(make_module(name, d_model, heads, d_ff, layers, max_len=max(16, seq_len)), fused)
    if name == "attention":
        x = _inputs(rng, batch, seq_len, d_model)
        out = root.self_attn(x, x, x, ops.causal_mask(seq_len))
        return Specimen(name, f"multi-head self-attention, causal mask: {sizes}", root, out)
    if name == "mlp":
        x = _inputs(rng, batch, seq_len, d_model)
        out = root.linear2(ops.relu(root.linear1(x)))
        return Specimen(name, f"MLP: Linear({d_model}, {d_ff}) -> relu -> Linear({d_ff}, {d_model}), seq_len={seq_len}",
                        root, out)
    pad = ops.padding_mask(random_tokens(rng, batch, seq_len, 8), 0)  # (batch, 1, 1, len)
    if name == "encoder-layer":
        out = root.encoder_layer(_inputs(rng, batch, seq_len, d_model), pad)
        return Specimen(name, f"encoder layer: {sizes}", root, out)
    if name == "decoder-layer":
        x, memory = _inputs(rng, batch, seq_len, d_model), _inputs(rng, batch, seq_len, d_model)
        out = root.decoder_layer(x, memory, pad, pad & ops.causal_mask(seq_len))
        return Specimen(name, f"decoder layer: {sizes}", root, out)
    src, tgt = random_tokens(rng, batch, seq_len, RANDOM_VOCAB), random_tokens(rng, batch, seq_len, RANDOM_VOCAB)
    logits = root(src, tgt)
    target = random_tokens(rng, batch, seq_len, RANDOM_VOCAB)
    return Specimen(name, f"Transformer, {layers} + {layers} layers, vocabulary {RANDOM_VOCAB}: {sizes}", root, logits,
                    target=target)


def checkpoint_specimen(name, directory, seq_len=4, seed=0, fused=True, sentence=None, batch=2, top_k=5):
    """The part `name` of the trained model saved in `directory`.

    Without `sentence` the inputs are random (seeded). With it, the sentence is
    what the model reads: its source tokens, and as target tokens the model's
    own greedy translation (which `decoding` lists step by step, with the top-k
    probabilities); the layers are fed what they see inside the model (the
    embedded tokens, the encoder's memory), as constants except the layer's own
    input. attention is the first encoder layer's self-attention on a sentence,
    the first decoder layer's masked self-attention on random vectors.
    """
    from ..train import load_translator  # the training application, loaded only for a checkpoint

    if name == "mlp":
        raise ValueError("mlp is not part of a Transformer checkpoint; choose attention, encoder-layer, decoder-layer or transformer")
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    manual_seed(seed)
    rng = np.random.default_rng(seed)
    translator = load_translator(directory, "cpu")
    model = nn.set_fused(translator.model.eval(), fused)
    where = f"trained model in {directory}"
    if sentence is None:
        return _checkpoint_random(name, model, where, seq_len, rng, batch)
    words = translator.src_tokenizer.split(sentence)
    if not words:
        raise ValueError("--sentence is empty: give the words to feed the model")
    src_vocab, tgt_vocab = translator.src_vocab, translator.tgt_vocab
    reading = read_with(translator, sentence, run_task(directory))
    src = Tensor(np.array([src_vocab.encode_source(words)]))  # (1, src_len)
    longest = model.positional.max_len
    if src.shape[1] > longest:
        raise ValueError(f"--sentence has {src.shape[1]} tokens; the model in {directory} reads at most {longest}")
    decoding, out_ids = greedy_top_k(model, src, tgt_vocab, top_k)
    tgt_in = Tensor(np.array([[Vocab.bos_id] + out_ids]))  # (1, tgt_len): what the decoder reads
    src_labels = reading.labels + [src_vocab.itos[i] for i in src.numpy()[0][len(reading.labels):]]  # then <eos>
    tokens = dict(src=src_labels, tgt=[tgt_vocab.itos[i] for i in tgt_in.numpy()[0]])
    src_mask = model.src_mask(src)
    title = f'{where}, reading "{sentence}"'
    common = dict(tokens=tokens, decoding=decoding, warnings=reading.warnings)
    if name == "transformer":
        target = Tensor(np.array([out_ids + [Vocab.eos_id]]))  # (1, tgt_len): the next token at each position
        return Specimen(name, f"Transformer: {title}", model, model(src, tgt_in), target=target,
                        queries_keys={"encoder": ("src", "src"), "decoder": ("tgt", "tgt"),
                                      **{f"decoder.layers.{i}.cross_attn": ("tgt", "src")
                                         for i in range(len(model.decoder.layers))}}, **common)
    with no_grad():
        embedded_src = model.positional(model.src_embed(src) * model.d_model ** 0.5)
        memory = model.encode(src, src_mask)
        embedded_tgt = model.positional(model.tgt_embed(tgt_in) * model.d_model ** 0.5)
    if name in ("attention", "encoder-layer"):
        x = Tensor(embedded_src.numpy(), requires_grad=True)  # (1, src_len, d_model)
        part = model.encoder.layers[0]
        out = part.self_attn(x, x, x, src_mask) if name == "attention" else part(x, src_mask)
        label = part.self_attn.path if name == "attention" else part.path
        return Specimen(name, f"{label}: {title}", model, out, queries_keys={"": ("src", "src")}, **common)
    part = model.decoder.layers[0]
    x = Tensor(embedded_tgt.numpy(), requires_grad=True)  # (1, tgt_len, d_model)
    out = part(x, Tensor(memory.numpy()), src_mask, model.tgt_mask(tgt_in))
    return Specimen(name, f"{part.path}: {title}", model, out,
                    queries_keys={"": ("tgt", "tgt"), part.cross_attn.path: ("tgt", "src")}, **common)


def _checkpoint_random(name, model, where, seq_len, rng, batch):
    d_model = model.d_model
    if name == "attention":  # the decoder's masked self-attention: the causal mask shows
        attn = model.decoder.layers[0].self_attn
        x = _inputs(rng, batch, seq_len, d_model)
        return Specimen(name, f"{attn.path}: {where}", model, attn(x, x, x, ops.causal_mask(seq_len)))
    vocab_src, vocab_tgt = model.src_embed.num_embeddings, model.tgt_embed.num_embeddings
    src = random_tokens(rng, batch, seq_len, vocab_src, model.pad_id)
    src_mask = model.src_mask(src)
    if name == "encoder-layer":
        layer = model.encoder.layers[0]
        return Specimen(name, f"{layer.path}: {where}", model, layer(_inputs(rng, batch, seq_len, d_model), src_mask))
    if name == "decoder-layer":
        layer = model.decoder.layers[0]
        tgt_mask = model.tgt_mask(random_tokens(rng, batch, seq_len, vocab_tgt, model.pad_id))
        x, memory = _inputs(rng, batch, seq_len, d_model), _inputs(rng, batch, seq_len, d_model)
        return Specimen(name, f"{layer.path}: {where}", model, layer(x, memory, src_mask, tgt_mask))
    logits = model(src, random_tokens(rng, batch, seq_len, vocab_tgt, model.pad_id))
    return Specimen(name, f"Transformer: {where}", model, logits,
                    target=random_tokens(rng, batch, seq_len, vocab_tgt, model.pad_id))


@no_grad()
def greedy_top_k(model, src, tgt_vocab, k=5, max_len=None):
    """Greedy decoding of one source (1, src_len), with the k likeliest next tokens at each step.

    Returns:
        (steps, ids): steps is a list of {"token": chosen, "top": [[token, probability], ...]};
        ids are the chosen token ids before <eos>.
    """
    max_len = max_len or src.shape[1] + 10
    src_mask = model.src_mask(src)
    memory = model.encode(src, src_mask)  # (1, src_len, d_model)
    ys, steps = [Vocab.bos_id], []
    for _ in range(max_len):
        hidden = model.decode(memory, src_mask, Tensor(np.array([ys])))  # (1, t, d_model)
        logits = model.generator(hidden[:, -1]).numpy()[0].astype(np.float64)  # (vocab,)
        logits[[Vocab.pad_id, Vocab.bos_id]] = -np.inf  # never targets (as decode does)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        order = np.argsort(-probs)[:k]
        choice = int(order[0])
        steps.append(dict(token=tgt_vocab.itos[choice],
                          top=[[tgt_vocab.itos[int(i)], round(float(probs[i]), 5)] for i in order]))
        if choice == Vocab.eos_id:
            break
        ys.append(choice)
    return steps, ys[1:]


CROSS_ENTROPY = "L = −(1/N) Σᵢ log softmax(logitsᵢ)[targetᵢ]   (N: the target tokens that are not padding)"
MEAN_SQUARED = "L = (1/N) Σ (output − target)²   (N: the number of output values)"


def loss_statement(specimen):
    """(words, formula): what `loss_of` computes for `specimen`, for the pages and titles to state."""
    if specimen.name != "transformer":
        return ("mean squared error between the output and a fixed random target of the same shape (the node "
                "'target'): a stand-in loss, so that every gradient is real", MEAN_SQUARED)
    if specimen.decoding is not None:
        return ("cross-entropy of the logits against the model's own greedy translation: at each position the "
                "next word it wrote (so the loss is how sure it was of its own output)", CROSS_ENTROPY)
    return "cross-entropy of the logits against fixed random target tokens (the node 'target')", CROSS_ENTROPY


def loss_text(specimen):
    """What `loss_of` computes for `specimen`, as a short call (for titles)."""
    if specimen.name != "transformer":
        return "mse_loss(output, a fixed random target)"
    if specimen.decoding is not None:
        return "cross_entropy(logits, the model's own greedy translation)"
    return "cross_entropy(logits, fixed random target tokens)"


def loss_of(specimen, seed=0):
    """The loss backward walks from: cross-entropy against target tokens for the Transformer
    (the specimen's own, else random ones), MSE against a fixed random target otherwise.

    The target is kept in `specimen.target` (named 'target', so the pictures label it),
    what the loss is in `specimen.loss` (`loss_statement`), and the loss node's role
    says it in short.
    """
    out = specimen.output
    if specimen.name == "transformer":
        if specimen.target is None:
            rng = np.random.default_rng(seed + 1)
            specimen.target = Tensor(rng.integers(1, out.shape[-1], size=out.shape[:-1]))
        loss, role = ops.cross_entropy(out, specimen.target, ignore_index=0), "loss: cross-entropy"
    else:
        if specimen.target is None:
            rng = np.random.default_rng(seed + 1)
            specimen.target = Tensor(rng.normal(size=out.shape), dtype=out.dtype)
        loss, role = ops.mse_loss(out, specimen.target), "loss: mean squared error"
    for tensor in (specimen.target, *loss._ctx.inputs):  # the target as the loss op holds it (it may copy it)
        if isinstance(tensor, Tensor) and not tensor.requires_grad and not tensor.name:
            tensor.name = "target"
    specimen.loss = loss_statement(specimen)
    return mark(loss, role)
