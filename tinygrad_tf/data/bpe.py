"""Byte-pair-encoded subwords (the paper's tokenisation), through the `tokenizers` library.

Text is Unicode-NFC normalised but keeps its case. The Metaspace
pre-tokenizer turns each space into "▁" at the start of the following
piece, so the pieces carry the spacing and joining them gives the original
text back: "¿Dónde está la estación?" -> ["▁¿Dónde", "▁está", "▁la",
"▁estación", "?"] -> "¿Dónde está la estación?". A character never seen in
training becomes <unk>.
"""
import json

from .tokenizer import tokenize
from .vocab import SPECIALS, UNK, Vocab


def _library():
    try:
        import tokenizers
    except ImportError:
        raise RuntimeError("the bpe tokenizer needs the `tokenizers` package: pip install 'tokenizers>=0.15'") from None
    return tokenizers


class BPETokenizer:
    """Subword pieces learned by byte-pair encoding; the same interface as `WordTokenizer`.

    Ids 0-3 are <pad> <bos> <eos> <unk>, as in every `Vocab`.

    Args:
        model: a trained `tokenizers.Tokenizer` whose first four tokens are the specials.
    """

    kind = "bpe"

    def __init__(self, model):
        itos = [model.id_to_token(i) for i in range(model.get_vocab_size())]
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"BPE tokenizer: ids 0-3 must be {', '.join(SPECIALS)}, got {itos[:len(SPECIALS)]}")
        self.model = model
        self.vocab = Vocab(itos)

    @classmethod
    def train(cls, texts, vocab_size=8000, min_freq=2):
        """Learn merges on `texts` until the vocabulary has `vocab_size` entries (specials included).

        Training is deterministic: the same texts give the same tokenizer.

        Args:
            texts: the training sentences (raw text).
            vocab_size: size of the final vocabulary; smaller when the texts run out of pairs to merge.
            min_freq: a pair seen fewer times than this is never merged.
        """
        lib = _library()
        model = lib.Tokenizer(lib.models.BPE(unk_token=UNK))
        model.normalizer = lib.normalizers.NFC()
        model.pre_tokenizer = lib.pre_tokenizers.Metaspace()
        model.decoder = lib.decoders.Metaspace()
        trainer = lib.trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_freq,
                                          special_tokens=list(SPECIALS), show_progress=False)
        model.train_from_iterator(list(texts), trainer)
        return cls(model)

    def split(self, text):
        return self.model.encode(text, add_special_tokens=False).tokens

    def join(self, tokens, source=None):
        """The sentence, cased as the model wrote it (`source` is not needed: BPE keeps case)."""
        return self.model.decoder.decode(list(tokens)) if tokens else ""

    def words(self, tokens):
        return tokenize(self.join(tokens))

    def to_dict(self):
        """What a checkpoint stores to rebuild this tokenizer: the library's own JSON (merges and all)."""
        return {"kind": self.kind, "json": self.model.to_str()}

    @classmethod
    def from_dict(cls, values):
        text = values["json"]
        try:
            json.loads(text)
            model = _library().Tokenizer.from_str(text)
        except Exception as e:  # the library raises its own exception types for bad JSON
            raise ValueError(f"stored BPE tokenizer cannot be read ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        return cls(model)
