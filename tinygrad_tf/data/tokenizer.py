"""Word-level tokenisation for the translation corpus, and its inverse."""
import re
import unicodedata

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
