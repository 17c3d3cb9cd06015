"""Choosing, training, storing and restoring the source and target tokenizers of a run.

A run has one tokenizer per side, or one shared by both sides (then the
same object is returned twice). Checkpoints store them under "tokenizer";
checkpoints without that key are word-level, with their word lists under
"src_vocab" and "tgt_vocab".
"""
from .bpe import BPETokenizer
from .tokenizer import WordTokenizer
from .vocab import Vocab

TOKENIZER_KINDS = {"word": WordTokenizer, "bpe": BPETokenizer}


def train_tokenizers(kind, pairs, vocab_size=8000, min_freq=1, shared=False):
    """(source tokenizer, target tokenizer) learned from raw (source, target) text pairs.

    Args:
        kind: "word" or "bpe".
        pairs: the training split only, as raw text pairs.
        vocab_size: vocabulary size of a BPE tokenizer (word vocabularies keep every word seen `min_freq` times).
        min_freq: least count of a kept word, or of a merged BPE pair.
        shared: one tokenizer learned from both sides, used for both.
    """
    if kind not in TOKENIZER_KINDS:
        raise ValueError(f"unknown tokenizer {kind!r}; expected one of {', '.join(TOKENIZER_KINDS)}")

    def learn(texts):
        if kind == "bpe":
            return BPETokenizer.train(texts, vocab_size, min_freq)
        return WordTokenizer.train(texts, min_freq)

    sources, targets = [s for s, _ in pairs], [t for _, t in pairs]
    if shared:
        both = learn(sources + targets)
        return both, both
    return learn(sources), learn(targets)


def tokenizers_to_meta(src, tgt):
    """The checkpoint entries for a pair of tokenizers (a shared one is stored once)."""
    shared = src is tgt
    meta = {"tokenizer": {"kind": src.kind, "shared": shared, "src": src.to_dict(), "tgt": None if shared else tgt.to_dict()},
            "src_vocab": src.vocab.itos, "tgt_vocab": tgt.vocab.itos}
    if src.kind == "word":  # the word lists are already there, as in checkpoints from before tokenizer kinds
        meta["tokenizer"].update(src=None, tgt=None)
    return meta


def tokenizers_from_meta(meta):
    """(source tokenizer, target tokenizer) from checkpoint metadata written by `tokenizers_to_meta` (or older).

    Raises:
        ValueError, KeyError, TypeError: for missing or inconsistent entries.
    """
    info = meta.get("tokenizer") or {"kind": "word", "shared": False}
    kind = info["kind"]
    if kind not in TOKENIZER_KINDS:
        raise ValueError(f"unknown tokenizer kind {kind!r}")
    if kind == "word":
        src = WordTokenizer(Vocab(meta["src_vocab"]))
        tgt = src if info["shared"] else WordTokenizer(Vocab(meta["tgt_vocab"]))
    else:
        src = BPETokenizer.from_dict(info["src"])
        tgt = src if info["shared"] else BPETokenizer.from_dict(info["tgt"])
    for side, tok in (("src_vocab", src), ("tgt_vocab", tgt)):
        if list(meta[side]) != tok.vocab.itos:
            raise ValueError(f"{side} does not match the stored {kind} tokenizer")
    return src, tgt


def unknown_rate(tokenizer, texts):
    """Fraction of the tokens of `texts` that the tokenizer's vocabulary maps to <unk>."""
    ids = [i for text in texts for i in tokenizer.vocab.encode(tokenizer.split(text))]
    return sum(i == Vocab.unk_id for i in ids) / max(len(ids), 1)
