"""Decoding: greedy (batched) and beam search with a length penalty.

The encoder runs once per sentence; the decoder re-reads the growing prefix at
each step (no cache: short sentences, and the computation stays the plain one).
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


@no_grad()
def greedy_decode(model, src, max_len=None):
    """Most likely next token at each step, for a batch of sources.

    Args:
        model: a Transformer (put it in eval mode first).
        src: (batch, src_len) source ids.
        max_len: most tokens to generate (default src_len + 10).

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
    for _ in range(max_len):
        hidden = model.decode(memory, src_mask, Tensor(ys, device=src.device))  # (batch, t, d_model)
        logits = model.generator(hidden[:, -1])  # (batch, vocab)
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
def beam_search(model, src, beam=4, max_len=None, alpha=0.6):
    """Beam search for one source sentence (1, src_len); the beams run as one batch.

    Returns:
        (ids, alignment) of the best finished hypothesis by log-probability / length_penalty.
    """
    src = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
    src_ids = src.numpy()  # (batch, src_len), for choosing aligned source words
    max_len = max_len or src.shape[1] + 10
    src_mask = model.src_mask(src)
    memory = model.encode(src, src_mask)  # (1, src_len, d_model): once for the sentence
    live = [([Vocab.bos_id], [], 0.0)]  # (tokens, alignment, log-probability)
    finished = []
    for _ in range(max_len):
        k = len(live)
        rows = np.zeros(k, dtype=np.int64)
        hidden = model.decode(memory[rows], src_mask[rows], Tensor(np.array([t for t, _, _ in live]), device=src.device))
        logp = _never_predict(ops.log_softmax(model.generator(hidden[:, -1]), axis=-1).numpy())  # (k, vocab)
        where = _last_layer_alignment(model, src_ids[rows])
        scores = np.array([s for _, _, s in live])[:, None] + logp
        candidates = []
        for rank, flat in enumerate(np.argsort(-scores, axis=None)[: 2 * beam]):
            i, tok = divmod(int(flat), logp.shape[1])
            tokens, alignment, score = live[i][0] + [tok], live[i][1] + [int(where[i])], float(scores[i, tok])
            if tok != Vocab.eos_id:
                candidates.append((tokens, alignment, score))
            elif rank < beam:  # an ending only counts when it would have been in the beam
                finished.append((tokens, alignment, score))
        live = candidates[:beam]
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
    the source word it attended to most is copied in its place.

    Args:
        tokenizers: (source, target) tokenizers that split sentences and join
            the output (default: word tokenizers over the two vocabularies).
    """

    def __init__(self, model, src_vocab, tgt_vocab, device="cpu", tokenizers=None):
        self.model, self.src_vocab, self.tgt_vocab, self.device = model.eval(), src_vocab, tgt_vocab, device
        self.src_tokenizer, self.tgt_tokenizer = tokenizers or (WordTokenizer(src_vocab), WordTokenizer(tgt_vocab))

    def translate(self, sentences, beam=1, batch_size=64, max_len=None):
        """Translate raw sentences; returns one string per sentence, in input order."""
        tokens = [self.src_tokenizer.split(s) for s in sentences]
        return [self.tgt_tokenizer.join(w) for w in self.translate_tokens(tokens, beam, batch_size, max_len)]

    def translate_tokens(self, token_lists, beam=1, batch_size=64, max_len=None):
        """Translate tokenised sentences (similar lengths batched together); returns token lists."""
        results = [None] * len(token_lists)
        step = batch_size if beam == 1 else 1
        order = sorted(range(len(token_lists)), key=lambda i: len(token_lists[i]))
        for start in range(0, len(order), step):
            chunk = order[start : start + step]
            ids = [self.src_vocab.encode_source(token_lists[i]) for i in chunk]
            src = np.full((len(ids), max(map(len, ids))), Vocab.pad_id, dtype=np.int64)
            for r, row in enumerate(ids):
                src[r, : len(row)] = row
            out, align = self.decode_ids(Tensor(src, device=self.device), beam, max_len)
            for r, i in enumerate(chunk):
                results[i] = self.words(out[r], align[r], token_lists[i])
        return results

    def decode_ids(self, src, beam=1, max_len=None):
        """Output ids and source alignments for a batch of source ids: greedy, or beam search (one sentence)."""
        if beam == 1:
            return greedy_decode(self.model, src, max_len)
        if src.shape[0] != 1:
            raise ValueError(f"beam search decodes one sentence at a time, got a batch of {src.shape[0]}")
        best, where = beam_search(self.model, src, beam, max_len)
        return best[None], where[None]

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
