"""viz.reading: tokens labelled as the model sees them, and the warnings when it cannot read a sentence."""
import json

import pytest

from tinygrad_tf.data import Vocab, tokenize
from tinygrad_tf.viz.reading import UNKNOWN_SHARE, read_sentence, run_task

ENGLISH = tokenize("The animal didn't cross the street because it was too tired.")
SPANISH = tokenize("El animal no cruzó la calle porque estaba demasiado cansado.")


def test_unknown_words_are_labelled_as_the_model_sees_them():
    vocab = Vocab(["the", "animal", "it", "."])
    reading = read_sentence(ENGLISH, vocab)
    for token, label in zip(ENGLISH, reading.labels):
        expected = token if vocab.encode([token])[0] != Vocab.unk_id else f"<unk> ({token})"
        assert label == expected
    assert reading.unknown == sum(vocab.encode([t])[0] == Vocab.unk_id for t in ENGLISH) > 0


@pytest.mark.parametrize("unknown", range(0, 6))
def test_warning_when_more_than_a_fifth_is_unknown(unknown):
    tokens = [f"w{i}" for i in range(10)]
    reading = read_sentence(tokens, Vocab(tokens[unknown:]))
    assert reading.unknown == unknown
    assert bool(reading.warnings) == (unknown / 10 > UNKNOWN_SHARE)
    if reading.warnings:
        assert f"knows {10 - unknown} of the sentence's 10 tokens" in reading.warnings[0]
        assert all(f"w{i}" in reading.warnings[0] for i in range(unknown))


def test_a_sentence_in_the_language_the_model_writes_names_the_fitting_run():
    spanish_reader, english_writer = Vocab(SPANISH), Vocab(ENGLISH)  # a spa-eng model
    reading = read_sentence(ENGLISH, spanish_reader, ENGLISH, english_writer, task="spa-eng")
    other = [w for w in reading.warnings if "reads Spanish" in w]
    assert len(other) == 1 and "--task eng-spa" in other[0] and "English" in other[0]
    fitting = read_sentence(SPANISH, spanish_reader, SPANISH, english_writer, task="spa-eng")
    assert fitting.warnings == [] and fitting.labels == SPANISH


def test_run_task_reads_the_checkpoint(copy_run, tmp_path):
    assert run_task(copy_run) == "copy"
    assert run_task(str(tmp_path)) is None
    (tmp_path / "checkpoint.json").write_text(json.dumps({"config": {}}), encoding="utf-8")
    assert run_task(str(tmp_path)) is None
