"""Translations give names their source capitals back: the model itself reads and writes lower case."""
import pytest

from tinygrad_tf.data import Vocab, WordTokenizer, detokenize, source_casing, tokenize
from tinygrad_tf.decode import Translator


@pytest.mark.parametrize("text, expected", [
    ("Vi a Tom ayer.", {"tom": "Tom"}),
    ("Tom está aquí.", {}),  # a sentence's first word is capitalised anyway: it says nothing
    ("¿Dónde vive Mary? Vive en Boston.", {"mary": "Mary", "boston": "Boston"}),
    ("Hola. Tom llegó.", {}),  # first word of the second sentence
    ("Trabaja en la NASA con McDonald.", {"nasa": "NASA", "mcdonald": "McDonald"}),
    ("no hay nombres aquí", {}),
])
def test_source_casing(text, expected):
    assert source_casing(text) == expected


def test_detokenize_applies_the_casing_and_still_capitalises_sentences():
    tokens = tokenize("tom and mary live in boston. i know it.")
    casing = {"mary": "Mary", "boston": "Boston"}
    assert detokenize(tokens, casing=casing) == "Tom and Mary live in Boston. I know it."
    assert detokenize(tokens) == "Tom and mary live in boston. I know it."


class _Echo(Translator):
    """A "model" that writes its source tokens back (lower-cased, as every model here does)."""

    def __init__(self):
        self.src_tokenizer = self.tgt_tokenizer = WordTokenizer(Vocab([]))

    def translate_tokens(self, token_lists, beam=1, batch_size=64, max_len=None):
        return [list(tokens) for tokens in token_lists]


def test_translator_output_takes_the_source_casing():
    assert _Echo().translate(["Ayer vi a Tom en Boston.", "¿Conoces a Mary?", "Me gusta."]) == [
        "Ayer vi a Tom en Boston.", "¿Conoces a Mary?", "Me gusta."]
