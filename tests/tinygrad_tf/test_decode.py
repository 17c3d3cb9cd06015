"""Decoding: batched greedy equals one-by-one greedy, beam search scores at least greedy's, unknown words copied.

Scores are recomputed here by teacher forcing (the model's plain forward pass
and a NumPy log-softmax), not read from the decoder under test.
"""
import numpy as np
import pytest

from autograd import Tensor, no_grad
from tinygrad_tf.data import Vocab
from tinygrad_tf.decode import Translator, beam_search, greedy_decode, length_penalty
from tinygrad_tf.nn import Transformer
from nn_testing import briefly_trained

# A briefly trained copy model: confident enough that its argmaxes are not near-ties,
# not so good that every decoder trivially agrees.
SHORT = dict(steps=200, d_model=32, heads=2, layers=1, d_ff=64, max_pairs=1000, batch_tokens=400,
             warmup=50, lr=1.0, eval_every=10**6, seed=1)


@pytest.fixture(scope="module")
def trained():
    trainer = briefly_trained("copy", **SHORT)
    sources = [trainer.src_vocab.encode_source(s) for s, _ in trainer.splits.test[:40]]
    return trainer, sources


def _until_eos(ids):
    ids = [int(i) for i in ids]
    return ids[: ids.index(Vocab.eos_id) + 1] if Vocab.eos_id in ids else ids


@no_grad()
def _log_prob(model, src_ids, out_ids):
    """log p(out_ids | src_ids) by teacher forcing: one forward pass over <bos> + out_ids[:-1]."""
    logits = model(Tensor(np.array([src_ids])), Tensor(np.array([[Vocab.bos_id] + out_ids[:-1]]))).numpy()[0]
    logits = logits.astype(np.float64)
    logp = logits - logits.max(-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    return float(sum(logp[t, tok] for t, tok in enumerate(out_ids)))


def test_greedy_on_a_batch_equals_greedy_on_each_sentence(trained):
    trainer, sources = trained
    model = trainer.model
    batch = np.full((len(sources), max(map(len, sources))), Vocab.pad_id, dtype=np.int64)
    for r, s in enumerate(sources):
        batch[r, : len(s)] = s
    assert len({len(s) for s in sources}) > 3  # really padded
    ids, align = greedy_decode(model, Tensor(batch), max_len=15)
    assert ids.shape == align.shape and ids.shape[0] == len(sources)
    for r, s in enumerate(sources):
        one_ids, one_align = greedy_decode(model, np.array([s]), max_len=15)
        got, want = _until_eos(ids[r]), _until_eos(one_ids[0])
        assert got == want, f"sentence {r}"
        np.testing.assert_array_equal(align[r, : len(want)], one_align[0, : len(want)])
        assert all(i == Vocab.pad_id for i in ids[r, len(got):])  # padded after <eos>


def test_greedy_picks_the_argmax_at_every_step(trained):
    """Each greedy token is the most likely one given the prefix (checked with the plain forward pass)."""
    trainer, sources = trained
    model = trainer.model
    for s in sources[:10]:
        out = _until_eos(greedy_decode(model, np.array([s]))[0][0])
        with no_grad():
            logits = model(Tensor(np.array([s])), Tensor(np.array([[Vocab.bos_id] + out[:-1]]))).numpy()[0]
        assert list(logits.argmax(-1)) == out


def test_translator_keeps_the_input_order(trained):
    trainer, _ = trained
    translator = trainer.translator()
    tokens = [s for s, _ in trainer.splits.test[:30]]
    assert [len(t) for t in tokens] != sorted(len(t) for t in tokens)  # it must reorder to batch
    together = translator.translate_tokens(tokens, batch_size=8)
    alone = [translator.translate_tokens([t])[0] for t in tokens]
    assert together == alone


def test_beam_of_one_without_length_penalty_is_greedy(trained):
    trainer, sources = trained
    for s in sources:
        greedy = _until_eos(greedy_decode(trainer.model, np.array([s]))[0][0])
        beam, where = beam_search(trainer.model, np.array([s]), beam=1, alpha=0.0)
        assert [int(i) for i in beam] == greedy
        assert len(where) == len(beam)


@pytest.mark.parametrize("beam", [2, 4])
def test_beam_finds_at_least_greedys_log_probability(trained, beam):
    trainer, sources = trained
    model = trainer.model
    for s in sources:
        greedy = _until_eos(greedy_decode(model, np.array([s]))[0][0])
        best, where = beam_search(model, np.array([s]), beam=beam, alpha=0.0)
        best = [int(i) for i in best]
        assert len(where) == len(best)
        assert best[-1] == Vocab.eos_id and Vocab.eos_id not in best[:-1]
        g, b = _log_prob(model, s, greedy), _log_prob(model, s, best)
        assert b >= g - 1e-4, f"beam {best} ({b:.4f}) scores below greedy {greedy} ({g:.4f})"


def test_beam_with_length_penalty_maximises_the_normalised_score(trained):
    """Among the finished hypotheses of a wider search, the one returned has the best normalised score."""
    trainer, sources = trained
    model = trainer.model
    alpha = 0.6
    for s in sources[:15]:
        chosen = [int(i) for i in beam_search(model, np.array([s]), beam=4, alpha=alpha)[0]]
        greedy = _until_eos(greedy_decode(model, np.array([s]))[0][0])

        def score(ids):
            return _log_prob(model, s, ids) / length_penalty(len(ids), alpha)

        assert score(chosen) >= score(greedy) - 1e-4


def test_length_penalty_is_gnmts():
    # Wu et al. (2016): lp(Y) = (5 + |Y|)^alpha / (5 + 1)^alpha
    for length in (1, 5, 17):
        for alpha in (0.0, 0.6, 1.0):
            assert length_penalty(length, alpha) == pytest.approx((5 + length) ** alpha / 6**alpha, rel=1e-12)


# ---- unknown words --------------------------------------------------------------


def test_words_copies_the_attended_source_word_for_unk():
    tgt = Vocab(["the", "dog"])
    translator = Translator(Transformer(5, len(tgt), d_model=8, num_heads=2, num_encoder_layers=1,
                                        num_decoder_layers=1, d_ff=8, dropout=0.0), Vocab([]), tgt)
    source = ["el", "perro", "zzyzx"]
    the, dog = tgt.stoi["the"], tgt.stoi["dog"]
    ids = [the, Vocab.unk_id, dog, Vocab.unk_id, Vocab.eos_id, the]
    align = [0, 2, 1, 0, 0, 0]
    assert translator.words(ids, align, source) == ["the", "zzyzx", "dog", "el"]
    # an alignment past the source (cannot happen with real attention) keeps <unk>
    assert translator.words([Vocab.unk_id], [7], source) == ["<unk>"]
    assert translator.words([Vocab.pad_id, the], [0, 0], source) == []


@pytest.mark.parametrize("beam", [1, 3])
def test_model_writing_unk_gets_source_words(beam):
    """A model made to always write <unk>: every output word is then a word of the source, never "<unk>"."""
    src_vocab, tgt_vocab = Vocab(["el", "perro"]), Vocab(["the", "dog"])
    model = Transformer(len(src_vocab), len(tgt_vocab), d_model=16, num_heads=2, num_encoder_layers=1,
                        num_decoder_layers=1, d_ff=16, dropout=0.0)
    model.generator.weight.data[...] = 0.0
    model.generator.bias.data[...] = -5.0
    model.generator.bias.data[Vocab.unk_id] = 5.0
    translator = Translator(model, src_vocab, tgt_vocab)
    source = ["el", "zzyzx", "perro", "qwxj"]  # two words the vocabulary has never seen
    (words,) = translator.translate_tokens([source], beam=beam, max_len=6)
    assert len(words) == 6
    assert set(words) <= set(source)
    (sentence,) = translator.translate(["El zzyzx perro qwxj."], beam=beam, max_len=3)
    assert "unk" not in sentence and sentence
