"""Corpus BLEU: the boundary values, a case worked by hand from the formula, and agreement with sacrebleu."""
import math

import numpy as np
import pytest

from tinygrad_tf.bleu import corpus_bleu


def test_perfect_match_is_100():
    refs = [["the", "cat", "sat", "on", "the", "mat"], ["a", "b", "c", "d", "e"]]
    score = corpus_bleu([list(r) for r in refs], refs)
    assert score.score == pytest.approx(100.0)
    assert score.brevity_penalty == 1.0
    assert score.precisions == [pytest.approx(100.0)] * 4
    assert float(score) == pytest.approx(100.0)


def test_no_overlap_is_0():
    score = corpus_bleu([["x", "y", "z", "w"]], [["a", "b", "c", "d"]])
    assert score.score == 0.0
    assert score.precisions == [0.0] * 4


def test_empty_hypotheses_are_0():
    assert corpus_bleu([[]], [["a", "b"]]).score == 0.0
    assert corpus_bleu([], []).score == 0.0


def test_brevity_penalty_by_hand():
    """Every n-gram of the hypothesis matches but it is 6 tokens against 8: BLEU = exp(1 - 8/6)."""
    hyp = ["a", "b", "c", "d", "e", "f"]
    ref = ["a", "b", "c", "d", "e", "f", "g", "h"]
    score = corpus_bleu([hyp], [ref])
    bp = math.exp(1 - 8 / 6)
    assert score.brevity_penalty == pytest.approx(bp, rel=1e-12)
    assert score.score == pytest.approx(100 * bp, rel=1e-12)
    assert (score.hyp_len, score.ref_len) == (6, 8)
    # a longer hypothesis has no penalty
    assert corpus_bleu([ref + ["a"]], [ref]).brevity_penalty == 1.0


def test_partial_match_by_hand():
    # hyp "a b c d x f" vs ref "a b c d e f g h":
    #   1-grams: a b c d f match, x does not            -> 5/6
    #   2-grams: ab bc cd match; dx xf do not           -> 3/5
    #   3-grams: abc bcd match; cdx dxf do not          -> 2/4
    #   4-grams: abcd matches; bcdx cdxf do not         -> 1/3
    hyp = ["a", "b", "c", "d", "x", "f"]
    ref = ["a", "b", "c", "d", "e", "f", "g", "h"]
    expected = 100 * math.exp(1 - 8 / 6) * math.exp((math.log(5 / 6) + math.log(3 / 5) + math.log(2 / 4) + math.log(1 / 3)) / 4)
    score = corpus_bleu([hyp], [ref])
    assert score.score == pytest.approx(expected, rel=1e-12)
    assert score.precisions == pytest.approx([100 * 5 / 6, 100 * 3 / 5, 100 * 2 / 4, 100 * 1 / 3])


def test_clipping_and_corpus_level_sums():
    # "the the the the" vs "the cat": unigram matches clipped to 1 of 4; no bigram match -> 0
    assert corpus_bleu([["the"] * 4], [["the", "cat"]]).precisions[0] == pytest.approx(25.0)
    # matches and totals are summed over sentences before dividing (not an average of sentence scores)
    hyps = [["a", "b", "c", "d"], ["w", "x", "y", "z", "q", "r"]]
    refs = [["a", "b", "c", "d"], ["w", "x", "y", "z", "s", "t"]]
    score = corpus_bleu(hyps, refs)
    p = [(4 + 4) / 10, (3 + 3) / 8, (2 + 2) / 6, (1 + 1) / 4]
    assert score.score == pytest.approx(100 * math.exp(sum(map(math.log, p)) / 4), rel=1e-12)


def test_multiple_references_closest_length():
    hyp = ["a", "b", "c", "d", "e"]
    # reference lengths 3 and 7: 7 is not closer (|7-5| = 2 = |3-5|): ties go to the shorter one
    score = corpus_bleu([hyp], [[["a", "b", "c"], ["a", "b", "c", "d", "e", "f", "g"]]])
    assert score.ref_len == 3
    assert score.brevity_penalty == 1.0
    score = corpus_bleu([hyp], [[["a", "b", "c", "d", "e", "f"], ["a", "b"]]])
    assert score.ref_len == 6


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError):
        corpus_bleu([["a"]], [])


def _random_corpus(rng, n, vocab, max_len):
    words = [f"w{i}" for i in range(vocab)]

    def sentence():
        return list(rng.choice(words, rng.integers(1, max_len + 1)))

    refs = [sentence() for _ in range(n)]
    # hypotheses: a noisy copy of the reference (so all n-gram orders have matches) or random words
    hyps = []
    for ref in refs:
        if rng.random() < 0.7:
            hyp = [w if rng.random() < 0.8 else str(rng.choice(words)) for w in ref]
            hyp = hyp[: rng.integers(max(1, len(hyp) - 3), len(hyp) + 1)] + [str(rng.choice(words))] * int(rng.integers(0, 3))
        else:
            hyp = sentence()
        hyps.append([str(w) for w in hyp])
    return hyps, [[str(w) for w in r] for r in refs]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_sacrebleu(seed):
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = np.random.default_rng(seed)
    hyps, refs = _random_corpus(rng, 300, vocab=[12, 30, 60][seed], max_len=[8, 15, 25][seed])
    ours = corpus_bleu(hyps, refs)
    theirs = sacrebleu.corpus_bleu([" ".join(h) for h in hyps], [[" ".join(r) for r in refs]],
                                   tokenize="none", smooth_method="none", force=True)
    assert 1.0 < theirs.score < 99.0
    assert ours.score == pytest.approx(theirs.score, rel=1e-9, abs=1e-9)
    assert ours.brevity_penalty == pytest.approx(theirs.bp, rel=1e-9)
    assert (ours.hyp_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert ours.precisions == pytest.approx(theirs.precisions, rel=1e-9)


def test_agrees_with_sacrebleu_with_two_references_and_a_short_corpus():
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = np.random.default_rng(7)
    hyps, refs_a = _random_corpus(rng, 200, vocab=15, max_len=12)
    _, refs_b = _random_corpus(rng, 200, vocab=15, max_len=12)
    ours = corpus_bleu(hyps, [[a, b] for a, b in zip(refs_a, refs_b)])
    theirs = sacrebleu.corpus_bleu([" ".join(h) for h in hyps], [[" ".join(r) for r in refs_a], [" ".join(r) for r in refs_b]],
                                   tokenize="none", smooth_method="none", force=True)
    assert ours.score == pytest.approx(theirs.score, rel=1e-9)
    assert ours.ref_len == theirs.ref_len
    # hypotheses much shorter than the references: the brevity penalty bites the same way,
    # also when there are no 4-grams at all and the score is 0
    for cut in (lambda h: h[: max(4, len(h) // 3)], lambda h: h[:2]):
        short = [cut(h) for h in hyps]
        ours = corpus_bleu(short, refs_a)
        theirs = sacrebleu.corpus_bleu([" ".join(h) for h in short], [[" ".join(r) for r in refs_a]],
                                       tokenize="none", smooth_method="none", force=True)
        assert theirs.bp < 0.9
        assert ours.score == pytest.approx(theirs.score, rel=1e-9, abs=1e-12)
        assert ours.brevity_penalty == pytest.approx(theirs.bp, rel=1e-9)
    assert theirs.score == 0.0


def _sentences(rng, n, words, max_len):
    """Raw sentences with capitals and punctuation, so that 13a tokenisation has work to do."""
    marks = [".", ",", "!", "?", "'s", "-", "(", ")", "\"", "n't", "'"]
    out = []
    for _ in range(n):
        tokens = [str(rng.choice(words)) for _ in range(int(rng.integers(1, max_len + 1)))]
        text = " ".join(tokens)
        for _ in range(int(rng.integers(0, 3))):
            cut = int(rng.integers(0, len(text) + 1))
            text = text[:cut] + str(rng.choice(marks)) + text[cut:]
        out.append(text[0].upper() + text[1:] if rng.random() < 0.5 else text)
    return out


def _noisy(rng, refs, words):
    hyps = []
    for ref in refs:
        if rng.random() < 0.75:
            hyp = " ".join(w if rng.random() < 0.8 else str(rng.choice(words)) for w in ref.split())
        else:
            hyp = " ".join(str(rng.choice(words)) for _ in range(int(rng.integers(0, 6))))
        hyps.append(hyp)
    return hyps


# large corpora, a tiny one, one sentence, and two whose 3- or 4-grams have no match (smoothing at work)
@pytest.mark.parametrize("seed, size, max_len", [(0, 300, 12), (1, 40, 30), (2, 5, 4), (3, 1, 3), (4, 2, 5), (12, 3, 4)])
def test_with_13a_tokens_and_exp_smoothing_equals_sacrebleus_default(seed, size, max_len):
    """sacreBLEU's standard signature (tok:13a, smooth:exp): our formula on its tokens gives its score."""
    sacrebleu = pytest.importorskip("sacrebleu")
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    rng = np.random.default_rng(seed)
    words = [f"Word{i}" if i % 5 == 0 else f"w{i}" for i in range(25)]
    refs = _sentences(rng, size, words, max_len)
    hyps = _noisy(rng, refs, words)
    tok = Tokenizer13a()
    ours = corpus_bleu([tok(h).split() for h in hyps], [tok(r).split() for r in refs], smooth="exp")
    metric = sacrebleu.BLEU()  # the defaults
    theirs = metric.corpus_score(hyps, [refs])
    assert {"tok:13a", "smooth:exp", "case:mixed"} <= set(str(metric.get_signature()).split("|"))
    assert ours.score == pytest.approx(theirs.score, rel=1e-9, abs=1e-12)
    assert ours.precisions == pytest.approx(theirs.precisions, rel=1e-9, abs=1e-12)
    assert (ours.hyp_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)


def test_exp_smoothing_by_hand():
    # hyp "a b c" vs "a b d e": 1-grams 2/3, 2-grams 1/2, 3-grams 0/1 -> 1/(2*1), 4-grams none -> BLEU 0
    assert corpus_bleu([["a", "b", "c"]], [["a", "b", "d", "e"]], smooth="exp").score == 0.0
    # hyp "a b c d" vs "a b x d": 1-grams 3/4, 2-grams 1/3, 3-grams 0/2 -> 1/4, 4-grams 0/1 -> 1/4
    score = corpus_bleu([["a", "b", "c", "d"]], [["a", "b", "x", "d"]], smooth="exp")
    assert score.precisions == pytest.approx([75.0, 100 / 3, 25.0, 25.0])
    assert score.score == pytest.approx(100 * (0.75 * (1 / 3) * 0.25 * 0.25) ** 0.25, rel=1e-12)
    with pytest.raises(ValueError, match="smooth"):
        corpus_bleu([["a"]], [["a"]], smooth="add-k")
