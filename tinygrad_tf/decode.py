"""Decoding: greedy (batched) and beam search with a length penalty.

The encoder runs once per sentence. By default the decoder keeps a key/value
cache (`nn.kv_cache`): each step feeds only the newest token and reuses the
keys and values of the earlier ones, so a step costs one position. With
`use_cache=False` each step re-reads the whole prefix instead: the plain
computation, slower, with the same result.
"""
import numpy as np

import ops
from autograd import Tensor, no_grad

from .data import Vocab, WordTokenizer


def _last_layer_alignment(model, src):
    """The source word each sequence's newest query attended to most (last decoder layer, mean over heads).

    The end marker and padding are not words, so they are never chosen.
    """
    weights = model.decoder.layers[-1].cross_attn.attention_weights  # (batch, heads, tgt_len, src_len)
    words = (src != Vocab.eos_id) & (src != Vocab.pad_id)  # (batch, src_len) NumPy
    return np.where(words, weights.numpy()[:, :, -1, :].mean(axis=1), -1.0).argmax(axis=-1)  # (batch,)


def _never_predict(scores):
    """<pad> and <bos> are never targets: rule them out of the next-token choice."""
    scores[:, [Vocab.pad_id, Vocab.bos_id]] = -np.inf
    return scores


def _next_states(model, memory, src_mask, ys, cache, device):
    """The decoder's state for the newest position of each prefix in ys (rows, t): (rows, d_model).

    With a cache only the last token of each prefix is fed; without, the whole prefix.
    """
    tokens = ys[:, -1:] if cache is not None else ys  # (rows, 1) or (rows, t)
    hidden = model.decode(memory, src_mask, Tensor(tokens, device=device), cache=cache)  # (rows, len, d_model)
    return hidden[:, -1]


@no_grad()
def greedy_decode(model, src, max_len=None, use_cache=True):
    """Most likely next token at each step, for a batch of sources.

    Args:
        model: a Transformer (put it in eval mode first).
        src: (batch, src_len) source ids.
        max_len: most tokens to generate (default src_len + 10).
        use_cache: keep each decoder layer's keys and values between steps
            (same output, each step costs one position instead of the prefix).

    Returns:
        (ids, alignment): NumPy (batch, steps) generated ids (ending at <eos>,
        padded after it) and, for each generated token, the source position it
        attended to most.
    """
    src = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
    src_ids = src.numpy()  # (batch, src_len), for choosing aligned source words
    max_len = max_len or src.shape[1] + 10
    src_mask = model.src_mask(src)
    memory = model.encode(src, src_mask)  # (batch, src_len, d_model)
    batch = src.shape[0]
    ys = np.full((batch, 1), Vocab.bos_id, dtype=np.int64)
    align = np.zeros((batch, 0), dtype=np.int64)
    done = np.zeros(batch, dtype=bool)
    cache = model.new_cache() if use_cache else None
    for _ in range(max_len):
        logits = model.generator(_next_states(model, memory, src_mask, ys, cache, src.device))  # (batch, vocab)
        nxt = _never_predict(logits.numpy()).argmax(axis=-1)
        nxt[done] = Vocab.pad_id
        ys = np.concatenate([ys, nxt[:, None]], axis=1)
        align = np.concatenate([align, _last_layer_alignment(model, src_ids)[:, None]], axis=1)
        done |= nxt == Vocab.eos_id
        if done.all():
            break
    return ys[:, 1:], align


def length_penalty(length, alpha):
    """GNMT's ((5 + length) / 6) ** alpha: divides a hypothesis' log-probability."""
    return ((5.0 + length) / 6.0) ** alpha


@no_grad()
def beam_search(model, src, beam=4, max_len=None, alpha=0.6, use_cache=True):
    """Beam search for one source sentence (1, src_len); the beams run as one batch.

    With `use_cache` the key/value cache is reordered at each step so that
    its row i belongs to the live hypothesis i (a beam's keys and values are
    those of the hypothesis it grew from).

    Returns:
        (ids, alignment) of the best finished hypothesis by log-probability / length_penalty.
    """
    src = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
    src_ids = src.numpy()  # (batch, src_len), for choosing aligned source words
    max_len = max_len or src.shape[1] + 10
    src_mask = model.src_mask(src)
    memory = model.encode(src, src_mask)  # (1, src_len, d_model): once for the sentence
    live = [([Vocab.bos_id], [], 0.0)]  # (tokens, alignment, log-probability)
    parents = np.zeros(1, dtype=np.int64)  # for each live hypothesis, the row it grew from last step
    finished = []
    cache = model.new_cache() if use_cache else None
    for _ in range(max_len):
        k = len(live)
        rows = np.zeros(k, dtype=np.int64)
        if cache is not None:
            cache.reorder(parents)  # row i of the cache now holds the prefix of live[i]
        ys = np.array([t for t, _, _ in live])  # (k, t)
        hidden = _next_states(model, memory[rows], src_mask[rows], ys, cache, src.device)  # (k, d_model)
        logp = _never_predict(ops.log_softmax(model.generator(hidden), axis=-1).numpy())  # (k, vocab)
        where = _last_layer_alignment(model, src_ids[rows])
        scores = np.array([s for _, _, s in live])[:, None] + logp
        candidates = []
        for rank, flat in enumerate(np.argsort(-scores, axis=None)[: 2 * beam]):
            i, tok = divmod(int(flat), logp.shape[1])
            tokens, alignment, score = live[i][0] + [tok], live[i][1] + [int(where[i])], float(scores[i, tok])
            if tok != Vocab.eos_id:
                candidates.append((tokens, alignment, score, i))
            elif rank < beam:  # an ending only counts when it would have been in the beam
                finished.append((tokens, alignment, score))
        parents = np.array([i for *_, i in candidates[:beam]], dtype=np.int64)
        live = [(t, a, s) for t, a, s, _ in candidates[:beam]]
        if finished:  # stop once no live hypothesis can still beat the best finished one:
            best_done = max(s / length_penalty(len(t) - 1, alpha) for t, _, s in finished)
            # its log-probability can only fall, and the penalty is largest at max_len
            if all(s / length_penalty(max_len, alpha) <= best_done for _, _, s in live):
                break
        if not live:
            break
    # hypotheses still live at max_len compete too (cut off there), as if they had ended
    best = max(finished + live, key=lambda h: h[2] / length_penalty(len(h[0]) - 1, alpha))
    return np.array(best[0][1:]), np.array(best[1])


class Translator:
    """A trained model with its vocabularies: sentences in, sentences out.

    Unknown source words reach the model as <unk>; when the model writes <unk>,
    the source word it attended to most is copied in its place. `use_cache`
    chooses decoding with the key/value cache (the default) or without.

    Args:
        tokenizers: (source, target) tokenizers that split sentences and join
            the output (default: word tokenizers over the two vocabularies).
    """

    def __init__(self, model, src_vocab, tgt_vocab, device="cpu", use_cache=True, tokenizers=None):
        self.model, self.src_vocab, self.tgt_vocab, self.device = model.eval(), src_vocab, tgt_vocab, device
        self.use_cache = use_cache
        self.src_tokenizer, self.tgt_tokenizer = tokenizers or (WordTokenizer(src_vocab), WordTokenizer(tgt_vocab))

    @property
    def max_source_tokens(self):
        """The longest source sentence, in tokens, that the model's positions hold (with its end marker)."""
        return self.model.positional.max_len - 1

    def translate(self, sentences, beam=1, batch_size=64, max_len=None):
        """Translate raw sentences; returns one string per sentence, in input order.

        Names keep the capitals they have in the source (the word tokenizer
        lower-cases, then `join` puts them back; BPE keeps case all along).
        """
        tokens = [self.src_tokenizer.split(s) for s in sentences]
        outputs = self.translate_tokens(tokens, beam, batch_size, max_len)
        return [self.tgt_tokenizer.join(w, source=s) for w, s in zip(outputs, sentences)]

    def translate_tokens(self, token_lists, beam=1, batch_size=64, max_len=None):
        """Translate tokenised sentences (similar lengths batched together); returns token lists."""
        results = [None] * len(token_lists)
        for i, tokens in enumerate(token_lists):
            if len(tokens) > self.max_source_tokens:
                which = f"sentence {i + 1}: " if len(token_lists) > 1 else ""
                raise ValueError(f"{which}{len(tokens)} tokens, more than the {self.max_source_tokens} "
                                 "the model's positions hold")
        step = batch_size if beam == 1 else 1
        order = sorted(range(len(token_lists)), key=lambda i: len(token_lists[i]))
        for start in range(0, len(order), step):
            chunk = order[start : start + step]
            ids = [self.src_vocab.encode_source(token_lists[i]) for i in chunk]
            src = np.full((len(ids), max(map(len, ids))), Vocab.pad_id, dtype=np.int64)
            for r, row in enumerate(ids):
                src[r, : len(row)] = row
            longest = max_len or min(src.shape[1] + 10, self.model.positional.max_len)  # outputs fit the positions too
            out, align = self.decode_ids(Tensor(src, device=self.device), beam, longest)
            for r, i in enumerate(chunk):
                results[i] = self.words(out[r], align[r], token_lists[i])
        return results

    def decode_ids(self, src, beam=1, max_len=None):
        """Output ids and source alignments for a batch of source ids: greedy, or beam search (one sentence)."""
        if beam == 1:
            return greedy_decode(self.model, src, max_len, use_cache=self.use_cache)
        if src.shape[0] != 1:
            raise ValueError(f"beam search decodes one sentence at a time, got a batch of {src.shape[0]}")
        best, where = beam_search(self.model, src, beam, max_len, use_cache=self.use_cache)
        return best[None], where[None]

    @no_grad()
    def step_candidates(self, sentence, k=5, beam=1, max_len=None):
        """For each output step of the translation of `sentence`, the top-k next tokens with their probabilities.

        The output is decoded as `translate` does; then one teacher-forced
        forward over it gives, at each step, the model's distribution over the
        next token given the source and the output so far.

        Returns:
            a list with one (chosen token, [(token, probability), ...k]) per step,
            most probable first; the chosen token is the vocabulary's (<unk>
            before the source word is copied in).
        """
        src = Tensor(np.array([self.src_vocab.encode_source(self.src_tokenizer.split(sentence))]), device=self.device)  # (1, src_len)
        out = [int(t) for t in self.decode_ids(src, beam, max_len)[0][0]]
        ends = [i for i, t in enumerate(out) if t in (Vocab.eos_id, Vocab.pad_id)]
        out = out[: ends[0] + 1] if ends else out
        tgt = Tensor(np.array([[Vocab.bos_id] + out[:-1]]), device=self.device)  # (1, steps): each step's input
        probs = ops.softmax(self.model(src, tgt), axis=-1).numpy()[0]  # (steps, vocab)
        itos = self.tgt_vocab.itos
        top = np.argsort(-probs, axis=-1, kind="stable")[:, :k]  # (steps, k)
        return [(itos[chosen], [(itos[t], float(probs[step, t])) for t in top[step]]) for step, chosen in enumerate(out)]

    def words(self, ids, align, source_tokens):
        """Target words for output ids, up to <eos>; an <unk> becomes the source word it was aligned with."""
        words = []
        for tok, pos in zip(ids, align):
            tok = int(tok)
            if tok in (Vocab.eos_id, Vocab.pad_id):
                break
            if tok == Vocab.unk_id and pos < len(source_tokens):
                words.append(source_tokens[pos])
            elif tok != Vocab.bos_id:
                words.append(self.tgt_vocab.itos[tok])
        return words
