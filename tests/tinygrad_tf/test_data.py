"""Data: tokenizer and detokenizer, Vocab, corpus splits (no leakage), synthetic tasks, batching.

Expected values come from the definitions (Unicode normalisation, counting,
set intersections, a mask built with NumPy), never from earlier runs of the
code under test.
"""
import collections
import json
import unicodedata

import numpy as np
import pytest

from tinygrad_tf.data import (
    CORPUS_FILE, Batch, Vocab, detokenize, load_splits, make_batches, read_pairs, synthetic_splits, tokenize,
    translation_splits,
)

# ---- tokenizer -------------------------------------------------------------------


def test_nfc_composed_and_decomposed_give_the_same_tokens():
    composed = "El caf\u00e9 est\u00e1 aqu\u00ed."
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert tokenize(composed) == tokenize(decomposed)
    assert "caf\u00e9" in tokenize(decomposed)  # the composed form, one code point for é
    assert all(unicodedata.is_normalized("NFC", t) for t in tokenize(decomposed))


def test_lower_cased_and_punctuation_split_off():
    assert tokenize("¿Dónde está la ESTACIÓN?") == ["¿", "dónde", "está", "la", "estación", "?"]
    assert tokenize("¡Hola, Tom!") == ["¡", "hola", ",", "tom", "!"]
    assert tokenize("I don't know.") == ["i", "don't", "know", "."]
    for text in ["¿Qué?", "¡Ya!", "Sí, señor.", "ÑANDÚ"]:
        assert all(t == t.lower() for t in tokenize(text))


@pytest.mark.parametrize("sentence", [
    "I love the garden.",
    "¿Dónde está la estación?",
    "¡Qué bonito es!",
    "Me gusta el jardín.",
    "I don't know, but I think so.",
    "Where are you? I am here.",
    "Tom and I left.",
    "Is it I?",
])
def test_detokenize_reads_naturally(sentence):
    assert detokenize(tokenize(sentence)) == sentence


def test_english_i_is_capitalised():
    assert detokenize(["you", "and", "i", "left", "."]) == "You and I left."
    assert detokenize(["you", "and", "i", "."]) == "You and I."
    assert detokenize(["i'm", "here", "."]) == "I'm here."
    # only the word "i", not the letter inside words
    assert detokenize(["it", "is", "in", "italy", "."]) == "It is in italy."


def test_tokenize_detokenize_is_stable_on_the_corpus():
    """tokenize(detokenize(tokens)) gives the tokens back, for both languages of the corpus."""
    pairs = read_pairs()
    rng = np.random.default_rng(0)
    for k in rng.choice(len(pairs), 2000, replace=False):
        for text in pairs[k]:
            tokens = tokenize(text)
            assert tokenize(detokenize(tokens)) == tokens, text


# ---- vocab -----------------------------------------------------------------------


def test_vocab_specials_and_unknowns():
    vocab = Vocab.build([["a", "b"], ["b", "c"]])
    assert vocab.itos[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    assert (Vocab.pad_id, Vocab.bos_id, Vocab.eos_id, Vocab.unk_id) == (0, 1, 2, 3)
    assert [vocab.stoi[s] for s in ("<pad>", "<bos>", "<eos>", "<unk>")] == [0, 1, 2, 3]
    assert vocab.encode(["b", "zzz", "a"]) == [vocab.stoi["b"], 3, vocab.stoi["a"]]
    assert vocab.encode(["a"], bos=True, eos=True) == [1, vocab.stoi["a"], 2]


def test_vocab_min_freq_and_max_size():
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(30)]
    sentences = [list(rng.choice(words, rng.integers(1, 8), p=np.arange(30, 0, -1) / 465)) for _ in range(200)]
    counts = collections.Counter(t for s in sentences for t in s)

    vocab = Vocab.build(sentences, min_freq=3)
    assert set(vocab.itos[4:]) == {t for t, c in counts.items() if c >= 3}
    assert len(vocab) == 4 + len(set(vocab.itos[4:]))

    small = Vocab.build(sentences, max_size=10)
    assert len(small) == 10
    # the six kept are the most frequent: none left out is more frequent than one kept
    kept = small.itos[4:]
    assert min(counts[t] for t in kept) >= max(counts[t] for t in counts if t not in kept)


def test_vocab_decode_stops_at_eos():
    vocab = Vocab(["x", "y", "z"])
    x, y, z = (vocab.stoi[t] for t in "xyz")
    assert vocab.decode([Vocab.bos_id, x, y, Vocab.eos_id, z, z]) == ["x", "y"]
    assert vocab.decode([x, Vocab.pad_id, z]) == ["x", "z"]
    assert vocab.decode(np.array([z, Vocab.eos_id])) == ["z"]


def test_vocab_json_round_trip(tmp_path):
    vocab = Vocab.build([["¿", "dónde", "está"], ["el", "niño", "está"]])
    path = tmp_path / "vocab.json"
    vocab.save(str(path))
    assert json.loads(path.read_text(encoding="utf-8"))["tokens"] == vocab.itos
    loaded = Vocab.load(str(path))
    assert loaded.itos == vocab.itos
    assert loaded.stoi == vocab.stoi
    assert Vocab.from_json(vocab.to_json()).itos == vocab.itos


# ---- translation splits ----------------------------------------------------------


@pytest.fixture(scope="module")
def default_split():
    return translation_splits()


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    """The first 3000 lines of the bundled corpus as a plain TAB file (quick to split)."""
    pairs = read_pairs(CORPUS_FILE)[:3000]
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    path.write_text("".join(f"{e}\t{s}\n" for e, s in pairs), encoding="utf-8")
    return str(path), pairs


def _sources(pairs):
    return {tuple(s) for s, _ in pairs}


def test_default_split_has_no_leakage(default_split):
    train = _sources(default_split.train)
    assert len(default_split.test) == 1000 and len(default_split.valid) == 1000
    assert len(default_split.train) > 50000
    assert not train & _sources(default_split.test)
    assert not train & _sources(default_split.valid)
    assert not _sources(default_split.valid) & _sources(default_split.test)


def test_default_split_is_spanish_to_english(default_split):
    spanish_marks = sum("¿" in s or "¡" in s for s, _ in default_split.test)
    english_marks = sum("¿" in t or "¡" in t for _, t in default_split.test)
    assert spanish_marks > 50 and english_marks == 0


def test_split_is_deterministic_for_a_seed(small_corpus):
    path, _ = small_corpus
    a = translation_splits(seed=5, valid_size=200, test_size=200, path=path)
    b = translation_splits(seed=5, valid_size=200, test_size=200, path=path)
    c = translation_splits(seed=6, valid_size=200, test_size=200, path=path)
    assert (a.train, a.valid, a.test) == (b.train, b.valid, b.test)
    assert a.test != c.test and a.train != c.train


def test_split_keeps_exactly_the_pairs_within_max_len(small_corpus):
    path, raw = small_corpus
    for task, max_len in (("spa-eng", 6), ("eng-spa", 9)):
        splits = translation_splits(task, seed=1, max_len=max_len, valid_size=100, test_size=100, path=path)
        src_tgt = [(s, e) if task == "spa-eng" else (e, s) for e, s in raw]
        expected = sorted(
            (tuple(tokenize(s)), tuple(tokenize(t))) for s, t in src_tgt
            if 0 < len(tokenize(s)) <= max_len and 0 < len(tokenize(t)) <= max_len
        )
        got = sorted((tuple(s), tuple(t)) for s, t in splits.train + splits.valid + splits.test)
        assert got == expected
        assert not _sources(splits.train) & _sources(splits.test)
        assert not _sources(splits.train) & _sources(splits.valid)


def test_max_pairs(small_corpus):
    path, _ = small_corpus
    full = translation_splits(seed=2, path=path, valid_size=200, test_size=200)
    biggest_group = max(collections.Counter(tuple(s) for s, _ in full.train + full.valid + full.test).values())
    for max_pairs in (100, 500):
        splits = translation_splits(seed=2, max_pairs=max_pairs, path=path)
        total = len(splits.train) + len(splits.valid) + len(splits.test)
        assert max_pairs <= total < max_pairs + biggest_group
        assert splits.train and splits.valid and splits.test
        assert not _sources(splits.train) & _sources(splits.test)


def test_unknown_translation_task():
    with pytest.raises(ValueError, match="klingon"):
        translation_splits("klingon")


# ---- synthetic tasks -------------------------------------------------------------


@pytest.mark.parametrize("task", ["copy", "reverse"])
def test_synthetic_tasks(task):
    splits = synthetic_splits(task, seed=3, train_size=3000, valid_size=300, test_size=300)
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (3000, 300, 300)
    for src, tgt in splits.train + splits.valid + splits.test:
        assert 3 <= len(src) <= 10
        assert all(tok in "0123456789" and len(tok) == 1 for tok in src)
        assert tgt == (src if task == "copy" else src[::-1])
    train = _sources(splits.train)
    assert not train & _sources(splits.test)
    assert not train & _sources(splits.valid)
    lengths = collections.Counter(len(s) for s, _ in splits.train)
    assert set(lengths) == set(range(3, 11))


def test_synthetic_splits_are_seeded():
    a, b, c = (synthetic_splits("copy", seed=s, train_size=200, valid_size=20, test_size=20) for s in (1, 1, 2))
    assert a.train == b.train and a.test == b.test
    assert a.train != c.train


def test_load_splits_dispatches():
    copy = load_splits("copy", seed=0, max_pairs=150)
    assert len(copy.train) == 150
    assert all(t == s for s, t in copy.train)
    with pytest.raises(ValueError):
        load_splits("nonsense")


# ---- batching --------------------------------------------------------------------


def _random_pairs(n, seed=0, longest=30):
    rng = np.random.default_rng(seed)
    return [
        ([int(x) for x in rng.integers(4, 50, rng.integers(1, longest))], [int(x) for x in rng.integers(4, 50, rng.integers(1, longest))])
        for _ in range(n)
    ]


def _padded_size(batch):
    """Tokens in the padded batch: rows x the longer of source and <bos>+target."""
    return len(batch) * max(max(len(s) for s, _ in batch), max(len(t) + 1 for _, t in batch))


@pytest.mark.parametrize("budget", [40, 200, 1000])
def test_batches_stay_under_the_token_budget(budget):
    pairs = _random_pairs(500, seed=budget)
    batches = make_batches(pairs, budget, seed=0)
    for batch in batches:
        assert _padded_size(batch) <= budget or len(batch) == 1
    # and they are not needlessly small: the batches hold about as many tokens as the budget allows
    if budget >= 200:
        assert len(batches) < 3 * sum(max(len(s), len(t) + 1) for s, t in pairs) / budget


def test_every_pair_appears_exactly_once_per_epoch():
    pairs = _random_pairs(400, seed=1)
    for seed in (None, 0, 7):
        batches = make_batches(pairs, 300, seed=seed)
        seen = collections.Counter(id(p) for batch in batches for p in batch)
        assert seen == collections.Counter(id(p) for p in pairs)


def test_batch_order_is_seeded():
    pairs = _random_pairs(400, seed=2)

    def order(seed):
        return [[pairs.index(p) for p in batch] for batch in make_batches(pairs, 300, seed=seed)]

    assert order(3) == order(3)
    assert order(3) != order(4)
    assert order(None) == order(None)


def test_batch_tensors_and_masks():
    pairs = [([5, 6, 7], [8, 9]), ([5], [10, 11, 12, 13]), ([6, 7, 8, 9, 10], [14])]
    batch = Batch(*zip(*pairs))
    src, tgt_in, tgt_out = batch.src.numpy(), batch.tgt_in.numpy(), batch.tgt_out.numpy()
    n, s_len, t_len = 3, 5, 5
    assert src.shape == (n, s_len) and tgt_in.shape == (n, t_len) and tgt_out.shape == (n, t_len)
    assert batch.src_mask.shape == (n, 1, 1, s_len)
    assert batch.tgt_mask.shape == (n, 1, t_len, t_len)
    assert len(batch) == 3
    for r, (s, t) in enumerate(pairs):
        assert list(src[r]) == s + [Vocab.pad_id] * (s_len - len(s))
        assert list(tgt_in[r]) == [Vocab.bos_id] + t + [Vocab.pad_id] * (t_len - len(t) - 1)
        assert list(tgt_out[r]) == t + [Vocab.eos_id] + [Vocab.pad_id] * (t_len - len(t) - 1)
    # masks from their definitions: real source tokens; causal and real target tokens
    np.testing.assert_array_equal(batch.src_mask.numpy(), (src != Vocab.pad_id)[:, None, None, :])
    causal = np.tril(np.ones((t_len, t_len), dtype=bool))
    expected = causal[None, None] & (tgt_in != Vocab.pad_id)[:, None, None, :]
    np.testing.assert_array_equal(batch.tgt_mask.numpy(), expected)
    assert batch.num_tokens == sum(len(t) + 1 for _, t in pairs)


def test_batches_from_make_batches_have_consistent_shapes():
    pairs = _random_pairs(200, seed=4)
    for chunk in make_batches(pairs, 400, seed=1):
        batch = Batch(*zip(*chunk))
        b, t = batch.tgt_in.shape
        assert batch.src_mask.shape == (b, 1, 1, batch.src.shape[1])
        assert batch.tgt_mask.shape == (b, 1, t, t)
        assert (batch.tgt_in.numpy()[:, 0] == Vocab.bos_id).all()
        out = batch.tgt_out.numpy()
        for row, (_, tgt) in zip(out, chunk):
            assert row[len(tgt)] == Vocab.eos_id and (row[len(tgt) + 1:] == Vocab.pad_id).all()
