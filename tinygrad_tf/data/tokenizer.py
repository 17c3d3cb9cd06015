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


def source_casing(text):
    """How `text` writes its words where the case says something: lower-cased token -> written form.

    Only words whose capitals are not explained by the position count: a
    capital inside a sentence ("Tom" in "Vi a Tom.") marks a name, while the
    first word of a sentence is capitalised anyway. Used to give names their
    capitals back in a translation (the model sees lower-case tokens only).

    >>> source_casing("¿Dónde vive Tom?")
    {'tom': 'Tom'}
    """
    casing, sentence_start = {}, True
    for tok in _TOKEN.findall(unicodedata.normalize("NFC", text)):
        if tok in _SENTENCE_END:
            sentence_start = True
        elif tok[0].isalnum():
            if not sentence_start and tok != tok.lower():
                casing.setdefault(tok.lower(), tok)
            sentence_start = False
    return casing


def detokenize(tokens, casing=None):
    """Join tokens into a sentence that reads naturally.

    Spaces go back between words but not before closing punctuation or after
    opening marks, each sentence starts with a capital, and English "i" is "I".
    Words found in `casing` (see `source_casing`) are written as it says.

    >>> detokenize(["i", "love", "the", "garden", "."])
    'I love the garden.'
    >>> detokenize(["tom", "lives", "in", "boston", "."], casing={"boston": "Boston"})
    'Tom lives in Boston.'
    """
    text = ""
    for tok in tokens:
        tok = casing.get(tok, tok) if casing else tok
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

    def join(self, tokens, source=None):
        """The sentence; with the `source` sentence, its names keep their capitals (see `source_casing`)."""
        return detokenize(tokens, casing=None if source is None else source_casing(source))

    def words(self, tokens):
        return list(tokens)

    def to_dict(self):
        """What a checkpoint stores to rebuild this tokenizer (its word list)."""
        return {"kind": self.kind, "tokens": list(self.vocab.itos)}

    @classmethod
    def from_dict(cls, values):
        return cls(Vocab(values["tokens"]))
