"""BPE subwords: natural round trips, the project's special ids, determinism, <unk>, and checkpoints that keep them.

References: the input text itself (round trips), counts made by hand from
the tokens, a tokenizer trained independently on the training split, and the
library's own ids.
"""
import json
import os
import subprocess
import sys
import unicodedata

import pytest
from click.testing import CliRunner
from helpers import assert_clean_error, edit_checkpoint_meta, tiny_copy_training

from tinygrad_tf import TrainConfig, Trainer, load_translator
from tinygrad_tf.checkpoint import META, CheckpointError
from tinygrad_tf.cli import main
from tinygrad_tf.data import (
    BPETokenizer, Vocab, WordTokenizer, load_text_splits, read_pairs, tokenizers_from_meta, train_tokenizers,
    unknown_rate,
)
from tinygrad_tf.data.vocab import SPECIALS

pytest.importorskip("tokenizers")

SENTENCES = ["¿Dónde está la estación?", "¡Qué bonito es!", "I don't know, but Tom thinks so.",
             "Me gusta el jardín.", "Where are you? I am here."]


@pytest.fixture(scope="module")
def corpus_texts():
    """Spanish and English sentences of the bundled corpus (a fixed slice: quick to train on)."""
    pairs = read_pairs()[::40]
    return [s for _, s in pairs] + [e for e, _ in pairs]


@pytest.fixture(scope="module")
def bpe(corpus_texts):
    return BPETokenizer.train(corpus_texts, vocab_size=1000)


@pytest.mark.parametrize("sentence", SENTENCES)
def test_round_trip_gives_the_natural_sentence_back(bpe, sentence):
    pieces = bpe.split(sentence)
    assert len(pieces) >= len(sentence.split())  # subwords: at least one piece per word
    assert bpe.join(pieces) == sentence  # case, accents, ¿ ¡ and spacing all kept


def test_decomposed_accents_come_back_composed(bpe):
    decomposed = unicodedata.normalize("NFD", SENTENCES[0])
    assert bpe.join(bpe.split(decomposed)) == SENTENCES[0]


def test_special_ids_are_the_vocab_ones_and_agree_with_the_library(bpe):
    assert tuple(bpe.vocab.itos[:4]) == SPECIALS
    assert (bpe.vocab.pad_id, bpe.vocab.bos_id, bpe.vocab.eos_id, bpe.vocab.unk_id) == (0, 1, 2, 3)
    for sentence in SENTENCES:
        assert bpe.vocab.encode(bpe.split(sentence)) == bpe.model.encode(sentence, add_special_tokens=False).ids


def test_vocabulary_size_is_the_one_asked_for(bpe, corpus_texts):
    assert len(bpe.vocab) == 1000
    small = BPETokenizer.train(corpus_texts, vocab_size=300)
    assert len(small.vocab) == 300
    assert len(small.split(SENTENCES[0])) >= len(bpe.split(SENTENCES[0]))  # fewer merges, more pieces


def test_training_is_deterministic_in_one_process_and_across_processes(bpe, corpus_texts):
    again = BPETokenizer.train(corpus_texts, vocab_size=1000)
    assert again.to_dict() == bpe.to_dict()
    script = ("import sys, json; from tinygrad_tf.data import BPETokenizer, read_pairs; "
              "p = read_pairs()[::40]; t = BPETokenizer.train([s for _, s in p] + [e for e, _ in p], vocab_size=1000); "
              "sys.stdout.write(t.to_dict()['json'])")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=root), timeout=300)
    assert out.stdout == bpe.to_dict()["json"]


def test_unseen_characters_become_unk_and_the_rate_counts_them(bpe):
    pieces = bpe.split("Tom ☺ ok")  # ☺ is not in the corpus
    ids = bpe.vocab.encode(pieces)
    assert Vocab.unk_id in ids
    texts = ["Tom ☺ ok", "hola", "☺☺"]
    all_ids = [i for t in texts for i in bpe.vocab.encode(bpe.split(t))]
    assert unknown_rate(bpe, texts) == pytest.approx(all_ids.count(Vocab.unk_id) / len(all_ids))
    assert unknown_rate(bpe, SENTENCES) == 0.0
    word = WordTokenizer(Vocab(["hola"]))
    assert unknown_rate(word, ["hola hola adiós ."]) == pytest.approx(2 / 4)


def test_shared_tokenizer_is_one_object_learned_from_both_languages():
    pairs = [("el perro come", "the dog eats"), ("el gato duerme", "the cat sleeps")] * 5
    src, tgt = train_tokenizers("bpe", pairs, vocab_size=60, shared=True)
    assert src is tgt
    assert {"▁el", "▁the"} <= set(src.vocab.itos)
    src, tgt = train_tokenizers("bpe", pairs, vocab_size=60, shared=False)
    assert "▁el" in src.vocab.itos and "▁el" not in tgt.vocab.itos and "▁the" not in src.vocab.itos
    words, same = train_tokenizers("word", pairs, shared=True)
    assert words is same and {"el", "the"} <= set(words.vocab.itos)
    with pytest.raises(ValueError, match="unknown tokenizer 'char'"):
        train_tokenizers("char", pairs)


def test_trainer_learns_the_tokenizer_on_the_training_split_only():
    config = TrainConfig.for_task("spa-eng", tokenizer="bpe", vocab_size=400, shared_vocab=True, max_pairs=1500,
                                  d_model=16, heads=2, layers=1, d_ff=32)
    trainer = Trainer(config, log=lambda *a: None)
    texts = load_text_splits("spa-eng", max_pairs=1500, max_len=config.max_len)
    expected = BPETokenizer.train([s for s, _ in texts.train] + [t for _, t in texts.train], 400, config.min_freq)
    assert trainer.src_tokenizer is trainer.tgt_tokenizer
    assert trainer.src_tokenizer.to_dict() == expected.to_dict()
    with_test = BPETokenizer.train([s for s, _ in texts.train + texts.test] + [t for _, t in texts.train + texts.test],
                                   400, config.min_freq)
    assert with_test.to_dict() != expected.to_dict()  # the test split would have changed it
    src_text, tgt_text = texts.test[0]
    assert trainer.splits.test[0] == (expected.split(src_text), expected.split(tgt_text))


# ---- checkpoints ---------------------------------------------------------------------------

TINY = dict(steps=2, d_model=16, heads=2, layers=1, d_ff=32, max_pairs=200, batch_tokens=200, warmup=10,
            eval_every=2, bleu_sentences=10, seed=1)


def _quiet(*args, **kwargs):
    pass


@pytest.fixture(scope="module")
def tied_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("bpe") / "run")
    config = TrainConfig.for_task("copy", tokenizer="bpe", vocab_size=40, shared_vocab=True, tie_weights=True, **TINY)
    return Trainer(config, out=out, log=_quiet).fit(progress=False), out


def test_checkpoint_stores_the_tokenizer_and_translate_uses_it(tied_run):
    trainer, out = tied_run
    translator = load_translator(out)
    assert translator.src_tokenizer is translator.tgt_tokenizer
    assert translator.src_tokenizer.to_dict() == trainer.src_tokenizer.to_dict()
    (line,) = translator.translate(["1 2 3"])
    assert isinstance(line, str) and "▁" not in line  # joined into text, not pieces
    assert line == translator.tgt_tokenizer.join(translator.translate_tokens([trainer.src_tokenizer.split("1 2 3")])[0])


def test_resume_keeps_the_tokenizer_and_the_tie(tied_run):
    trainer, out = tied_run
    resumed = Trainer.resume(out, log=_quiet)
    assert resumed.config.tokenizer == "bpe" and resumed.config.tie_weights
    assert resumed.src_tokenizer.to_dict() == trainer.src_tokenizer.to_dict()
    model = resumed.model
    assert model.src_embed.weight is model.tgt_embed.weight is model.generator.weight
    assert (model.tgt_embed.weight.numpy() == trainer.model.tgt_embed.weight.numpy()).all()
    assert resumed.evaluate("test", 5)["bleu"] == pytest.approx(trainer.evaluate("test", 5)["bleu"])


def test_checkpoints_without_a_tokenizer_entry_load_as_word_level(tmp_path):
    out = str(tmp_path / "word")
    Trainer(TrainConfig.for_task("copy", **TINY), out=out, log=_quiet).fit(progress=False)

    def as_before_tokenizer_kinds(meta):
        meta.pop("tokenizer")
        for key in ("tokenizer", "vocab_size", "shared_vocab", "tie_weights"):
            meta["config"].pop(key)

    edit_checkpoint_meta(out, as_before_tokenizer_kinds)
    translator = load_translator(out)
    assert isinstance(translator.src_tokenizer, WordTokenizer)
    assert translator.translate(["1 2 3"])[0] == translator.tgt_tokenizer.join(translator.translate_tokens([["1", "2", "3"]])[0])
    assert Trainer.resume(out, log=_quiet).config.tokenizer == "word"


@pytest.mark.parametrize("edit", [
    lambda m: m["tokenizer"]["src"].update(json="{not json"),
    lambda m: m["tokenizer"].update(kind="char"),
    lambda m: m["src_vocab"].append("extra"),
], ids=["corrupt-json", "unknown-kind", "vocab-mismatch"])
def test_a_damaged_tokenizer_is_a_clear_checkpoint_error(tmp_path, tied_run, edit):
    import shutil

    out = str(tmp_path / "copy")
    shutil.copytree(tied_run[1], out)
    edit_checkpoint_meta(out, edit)
    with pytest.raises(CheckpointError) as info:
        load_translator(out)
    assert os.path.join(out, META) in str(info.value)


def test_tokenizers_from_meta_rejects_a_tokenizer_whose_specials_moved(bpe):
    moved = json.loads(bpe.to_dict()["json"])
    vocab = moved["model"]["vocab"]
    vocab["<pad>"], vocab["!"] = vocab["!"], vocab["<pad>"]
    for added in moved["added_tokens"]:
        if added["content"] == "<pad>":
            added["id"] = vocab["<pad>"]
    with pytest.raises(ValueError, match="ids 0-3 must be"):
        BPETokenizer.from_dict({"json": json.dumps(moved)})
    meta = {"tokenizer": {"kind": "bpe", "shared": True, "src": bpe.to_dict()}, "src_vocab": bpe.vocab.itos,
            "tgt_vocab": bpe.vocab.itos}
    src, tgt = tokenizers_from_meta(meta)
    assert src is tgt and src.vocab.itos == bpe.vocab.itos


# ---- the command line ------------------------------------------------------------------------

CLI_TINY = tiny_copy_training(steps=2, max_pairs=200, batch_tokens=200, eval_every=2, warmup=None)


def test_cli_trains_with_bpe_and_translates(tmp_path):
    out = str(tmp_path / "run")
    result = CliRunner().invoke(main, ["train", *CLI_TINY, "--tokenizer", "bpe", "--vocab-size", "30",
                                       "--shared-vocab", "--tie-weights", "--out", out])
    assert result.exit_code == 0, result.output
    with open(os.path.join(out, META), encoding="utf-8") as f:
        meta = json.load(f)
    assert meta["config"]["tokenizer"] == "bpe" and meta["config"]["tie_weights"] is True
    assert meta["tokenizer"]["kind"] == "bpe" and meta["tokenizer"]["shared"] is True
    result = CliRunner().invoke(main, ["translate", "--checkpoint", out, "1 2 3"])
    assert result.exit_code == 0, result.output
    assert "▁" not in result.output


def test_cli_tie_weights_without_a_shared_vocabulary_is_a_clean_error(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", *CLI_TINY, "--tokenizer", "bpe", "--tie-weights", "--out", str(out)])
    assert_clean_error(result, "--tie-weights", "--shared-vocab")
    assert not out.exists()
