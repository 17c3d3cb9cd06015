"""How a model reads a sentence: each token as the model sees it, and a warning when it reads little of it.

    from tinygrad_tf.viz.reading import read_sentence
    r = read_sentence(tokens, src_vocab, tgt_tokens, tgt_vocab, task="spa-eng")
    r.labels      # ["the", "<unk> (didn't)", ...]: an unknown word shown as <unk>, the word beside it
    r.warnings    # what the terminal and the pages say when the model cannot read the sentence

A word missing from the source vocabulary reaches the model as <unk>: every
such word is the same row of numbers, so pictures of those rows (and where a
word attends among them) show nothing of the words. The tour and the explorer
label tokens with these labels, so both views say the same thing.
"""
import json
import os
from dataclasses import dataclass, field

from ..checkpoint import META
from ..data.vocab import UNK, Vocab

UNKNOWN_SHARE = 0.2  # warn when more than this share of a sentence's tokens is unknown
LANGUAGES = {"eng": "English", "spa": "Spanish"}


@dataclass
class Reading:
    """One sentence as a model reads it.

    Attributes:
        tokens: the sentence's tokens as the source tokenizer splits them.
        known: for each token, whether the source vocabulary has it.
        labels: each token as the model sees it: the token, or "<unk> (word)".
        target_known: how many of the sentence's tokens the target vocabulary knows
            (split by the target tokenizer), or None when there is none to ask.
        task: the training task of the checkpoint ("spa-eng"), or None.
        warnings: sentences for the learner (empty when the model reads the sentence well).
    """

    tokens: list
    known: list
    labels: list
    target_known: int = None
    task: str = None
    warnings: list = field(default_factory=list)

    @property
    def unknown(self):
        return self.known.count(False)


def label(token, known):
    """The token as the model sees it: itself, or '<unk> (token)'."""
    return token if known else f"{UNK} ({token})"


def read_sentence(tokens, src_vocab, target_tokens=None, tgt_vocab=None, task=None):
    """The `Reading` of a sentence split into `tokens` by the source tokenizer.

    Args:
        tokens: the source tokens (no <eos>).
        src_vocab: the vocabulary the encoder reads.
        target_tokens, tgt_vocab: the same sentence split by the target tokenizer, and the
            target vocabulary: when it knows more of the sentence than the source one, the
            sentence is in the language the model writes, not the one it reads.
        task: the checkpoint's training task, to name the languages and the fitting run.
    """
    known = [src_vocab.stoi.get(t, Vocab.unk_id) != Vocab.unk_id for t in tokens]
    reading = Reading(list(tokens), known, [label(t, k) for t, k in zip(tokens, known)], task=task)
    if target_tokens is not None and tgt_vocab is not None:
        reading.target_known = sum(tgt_vocab.stoi.get(t, Vocab.unk_id) != Vocab.unk_id for t in target_tokens)
    reading.warnings = _warnings(reading, len(target_tokens or ()))
    return reading


def _warnings(reading, target_count):
    count, unknown = len(reading.tokens), reading.unknown
    lines = []
    if count and unknown / count > UNKNOWN_SHARE:
        words = ", ".join(t for t, k in zip(reading.tokens, reading.known) if not k)
        lines.append(f"the model knows {count - unknown} of the sentence's {count} tokens; {unknown} reach it as "
                     f"{UNK} ({words}): they are all one and the same row of numbers, so what the pictures show "
                     "for them says nothing about those words.")
    if reading.target_known is not None and reading.target_known > count - unknown:
        reads, writes, other = _languages(reading.task)
        lines.append(f"this checkpoint reads {reads}, and the sentence looks like {writes}, the language it writes "
                     f"(its target vocabulary knows {reading.target_known} of {target_count} tokens, its source "
                     f"vocabulary {count - unknown} of {count}). Use a checkpoint trained the other way: {other}.")
    return lines


def _languages(task):
    """(the language read, the language written, how to get the checkpoint that reads the other one)."""
    parts = task.split("-") if isinstance(task, str) else []
    if len(parts) == 2 and all(p in LANGUAGES for p in parts):
        reverse = f"{parts[1]}-{parts[0]}"
        return (LANGUAGES[parts[0]], LANGUAGES[parts[1]],
                f"tinygrad-tf train --task {reverse} --out runs/{reverse}, then --checkpoint runs/{reverse}")
    return "its source language", "its target language", "a run whose source language is the sentence's"


def run_task(directory):
    """The training task recorded in a run directory's checkpoint ("spa-eng"), or None when it cannot be read."""
    try:
        with open(os.path.join(directory, META), encoding="utf-8") as f:
            task = json.load(f)["config"]["task"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return task if isinstance(task, str) else None


def read_with(translator, sentence, task=None):
    """The `Reading` of a raw `sentence` by a `decode.Translator` (its tokenizers and vocabularies)."""
    return read_sentence(translator.src_tokenizer.split(sentence), translator.src_vocab,
                         translator.tgt_tokenizer.split(sentence), translator.tgt_vocab, task)
