"""Word-level tokenisation for the translation corpus, and its inverse."""
import re
import unicodedata

from .vocab import Vocab

# A word (letters/digits, with inner apostrophes as in "don't"), or one punctuation mark.
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_NO_SPACE_BEFORE = set(".,!?;:%)]}»…")
_NO_SPACE_AFTER = set("¿¡([{«")
_SENTENCE_END = set(".!?…")
_ENGLISH_I = re.compile(r"\bi\b(?=$|\s|['’.,!?;:…)\]}»])")  # "i" before a space, an apostrophe or closing punctuation


def tokenize(text):
    """Unicode NFC, lower-cased, punctuation split off (¿ and ¡ included).

    >>> tokenize("¿Dónde está la estación?")
    ['¿', 'dónde', 'está', 'la', 'estación', '?']
    """
    return _TOKEN.findall(unicodedata.normalize("NFC", text).lower())


def detokenize(tokens):
    """Join tokens into a sentence that reads naturally.

    Spaces go back between words but not before closing punctuation or after
    opening marks, each sentence starts with a capital, and English "i" is "I".

    >>> detokenize(["i", "love", "the", "garden", "."])
    'I love the garden.'
    """
    text = ""
    for tok in tokens:
        if text and tok not in _NO_SPACE_BEFORE and text[-1] not in _NO_SPACE_AFTER:
            text += " "
        text += tok
    text = _ENGLISH_I.sub("I", text)
    chars, capitalise = list(text), True
    for i, c in enumerate(chars):
        if capitalise and c.isalpha():
            chars[i], capitalise = c.upper(), False
        elif c in _SENTENCE_END:
            capitalise = True
    return "".join(chars)


class WordTokenizer:
    """Text <-> word tokens (`tokenize` / `detokenize`) with the `Vocab` of the words.

    Every tokenizer kind has this interface: `split(text)` gives the token
    strings the model reads, `join(tokens)` gives text back, `words(tokens)`
    gives the lower-cased word tokens BLEU is counted on, and `vocab` maps
    tokens to ids (ids 0-3 are <pad> <bos> <eos> <unk>).

    Args:
        vocab: the `Vocab` of the words.
    """

    kind = "word"

    def __init__(self, vocab):
        self.vocab = vocab

    @classmethod
    def train(cls, texts, min_freq=1):
        """The words of `texts` seen at least `min_freq` times, most frequent first."""
        return cls(Vocab.build((tokenize(t) for t in texts), min_freq))

    def split(self, text):
        return tokenize(text)

    def join(self, tokens):
        return detokenize(tokens)

    def words(self, tokens):
        return list(tokens)

    def to_dict(self):
        """What a checkpoint stores to rebuild this tokenizer (its word list)."""
        return {"kind": self.kind, "tokens": list(self.vocab.itos)}

    @classmethod
    def from_dict(cls, values):
        return cls(Vocab(values["tokens"]))
