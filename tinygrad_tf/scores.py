"""Translation scores people can compare: BLEU and chrF computed by sacreBLEU, with their signatures.

A BLEU number means little without how it was computed (tokenisation,
casing, smoothing, number of references, version): sacreBLEU's signature
says exactly that, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
Scores are computed on detokenised text, as a reader sees it; sacreBLEU
tokenises it itself (13a). `tinygrad_tf.bleu` is the same BLEU written out
to read.
"""
import dataclasses
import math

import sacrebleu


@dataclasses.dataclass
class Scores:
    """Corpus BLEU and chrF (0-100) with sacreBLEU's signatures and its BLEU line (precisions, BP, lengths)."""

    bleu: float
    chrf: float
    bleu_signature: str
    chrf_signature: str
    bleu_detail: str

    def to_dict(self):
        return dataclasses.asdict(self)


def corpus_scores(hypotheses, references):
    """sacreBLEU's corpus BLEU and chrF of detokenised hypotheses against one reference each.

    Args:
        hypotheses: a list of output sentences (strings).
        references: the reference sentence (string) of each.

    Returns:
        a `Scores` (NaN scores and empty signatures for an empty corpus).
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"corpus_scores: {len(hypotheses)} hypotheses but {len(references)} references")
    if not hypotheses:  # sacreBLEU cannot score an empty corpus
        return Scores(math.nan, math.nan, "", "", "no sentences to score")
    bleu, chrf = sacrebleu.BLEU(), sacrebleu.CHRF()
    bleu_score = bleu.corpus_score(hypotheses, [references])
    chrf_score = chrf.corpus_score(hypotheses, [references])
    return Scores(bleu_score.score, chrf_score.score, str(bleu.get_signature()), str(chrf.get_signature()),
                  bleu_score.format(width=2))
