"""Corpus BLEU (Papineni et al., 2002): clipped n-gram precisions and a brevity penalty.

A readable version of the metric, to study. The scores the project reports
come from sacreBLEU (`tinygrad_tf.scores`), whose signature makes them
comparable with published ones; on the same tokens and with the same
smoothing the two agree (tests/tinygrad_tf/test_bleu.py checks it against
sacreBLEU's 13a tokenisation and "exp" smoothing).
"""
import collections
import math


class BleuScore:
    """score in [0, 100], the n-gram precisions (%), brevity penalty and lengths."""

    def __init__(self, score, precisions, brevity_penalty, hyp_len, ref_len):
        self.score, self.precisions = score, precisions
        self.brevity_penalty, self.hyp_len, self.ref_len = brevity_penalty, hyp_len, ref_len

    def __float__(self):
        return float(self.score)

    def __repr__(self):
        p = "/".join(f"{x:.1f}" for x in self.precisions)
        return f"BLEU = {self.score:.2f} {p} (BP = {self.brevity_penalty:.3f}, hyp_len = {self.hyp_len}, ref_len = {self.ref_len})"


def _ngrams(tokens, n):
    return collections.Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


SMOOTHING = ("none", "exp")


def corpus_bleu(hypotheses, references, max_n=4, smooth="none"):
    """BLEU of tokenised hypotheses against references, over the whole corpus.

    Args:
        hypotheses: a list of token lists.
        references: for each hypothesis, a token list or a list of alternative
            token lists.
        max_n: highest n-gram order (4 is the standard).
        smooth: "none", or "exp" (NIST's, sacreBLEU's default): an order with
            no match counts as 1 / (2^k * total) for the k-th such order
            instead of making the whole score 0.

    Matches of each order are clipped by the most any one reference has and
    summed over the corpus before dividing; the reference length for the
    brevity penalty is, per sentence, the one closest to the hypothesis
    length (the shorter on ties).
    """
    if smooth not in SMOOTHING:
        raise ValueError(f"corpus_bleu: smooth must be one of {', '.join(SMOOTHING)}, got {smooth!r}")
    if len(hypotheses) != len(references):
        raise ValueError(f"corpus_bleu: {len(hypotheses)} hypotheses but {len(references)} references")
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references):
        refs = [refs] if not refs or isinstance(refs[0], str) else refs
        hyp_len += len(hyp)
        ref_len += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(hyp, n)
            best = collections.Counter()
            for r in refs:
                best |= _ngrams(r, n)
            matches[n - 1] += sum(min(c, best[g]) for g, c in counts.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    precisions = [100.0 * m / t if t else 0.0 for m, t in zip(matches, totals)]
    if hyp_len == 0:
        return BleuScore(0.0, precisions, 0.0, hyp_len, ref_len)
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    if smooth == "exp" and any(matches):
        halvings = 1
        for n, (m, t) in enumerate(zip(matches, totals)):
            if t and not m:  # no match of this order: 1/2, then 1/4, ... of one match
                halvings *= 2
                precisions[n] = 100.0 / (halvings * t)
    if min(precisions) == 0.0:  # an order with no match (or no n-gram at all): the geometric mean is 0
        return BleuScore(0.0, precisions, bp, hyp_len, ref_len)
    log_precision = sum(math.log(p / 100.0) for p in precisions) / max_n
    return BleuScore(100.0 * bp * math.exp(log_precision), precisions, bp, hyp_len, ref_len)
