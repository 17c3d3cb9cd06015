"""Head search: for one word (and optionally a target word), every encoder layer and head ranked by weight.

    from tinygrad_tf import tour
    found = tour.head_search(subject, "it", target="animal")
    found.ranking[0]          # HeadMatch(layer=1, head=3, weight=0.07, key=1, key_token='animal', baseline=0.02)
    found.statement()         # what this model learned and what not, in a sentence or two

A picture of one head shows what that head does; a reader looking for "it →
animal" needs to know whether ANY head makes that link. The search looks at
all of them, so a picture can follow the strongest one and say plainly when
none does.

A head is ranked by the word's weight on the key minus the mean weight the
other words put on that key (the baseline): a head where every word looks at
the first token gives each word a high weight there, and no link of its own.
"""
import dataclasses

import numpy as np

from . import capture
from .data import find_word


SAME_FROM_EVERY_WORD = 0.5  # a baseline at least this share of the word's weight: the head looks there from any word


@dataclasses.dataclass(frozen=True)
class HeadMatch:
    """One layer/head: the weight from the word to `key_token` (the target, or the key it stands out on most).

    `baseline` is the mean weight the other words put on that key; `lift` (weight - baseline) ranks the heads.
    """

    layer: int
    head: int
    weight: float
    key: int
    key_token: str
    baseline: float = 0.0

    @property
    def lift(self):
        return self.weight - self.baseline

    @property
    def same_from_every_word(self):
        """Whether the other words put about as much weight on the key: the head's habit, not this word's link."""
        return self.baseline >= SAME_FROM_EVERY_WORD * self.weight

    def numbers(self):
        """The weight and its baseline in words, for the statement and the terminal."""
        return f"{self.weight:.2f}; other words {self.baseline:.2f} on average"


@dataclasses.dataclass
class HeadSearch:
    """Every encoder self-attention head, for one query word.

    Attributes:
        word: the query's position; target: the target's position, or None.
        tokens: the source tokens as the model sees them.
        weights: (layers, heads, src_len) the word's attention weights in each head.
        grid: (layers, heads) what the heads are ranked by: the word's weight on the key (the target, or the
            other word it stands out on most) minus the baseline, the mean weight the other words put there.
        weight_grid, baseline_grid: (layers, heads) those two numbers.
        ranking: every head as a `HeadMatch`, strongest first.
        trained: whether the weights were learned (a random model's links mean nothing).
    """

    word: int
    target: object
    tokens: list
    weights: np.ndarray
    weight_grid: np.ndarray
    baseline_grid: np.ndarray
    ranking: list
    trained: bool

    @property
    def grid(self):
        return self.weight_grid - self.baseline_grid

    @property
    def best(self):
        return self.ranking[0]

    def is_top_in(self, match):
        """Whether the target is where the word looks most in `match`'s head (itself left aside)."""
        row = self.weights[match.layer, match.head].copy()
        row[self.word] = -1.0
        return self.target is not None and int(row.argmax()) == self.target

    def statement(self):
        """What the search found, in plain words (for the picture and the page)."""
        word, best = self.tokens[self.word], self.best
        heads = self.grid.size
        where = f"layer {best.layer}, head {best.head}"
        habit = (f" Every word looks at '{best.key_token}' about as much in that head: it is where the head looks "
                 f"from any word, not a link of '{word}'.") if best.same_from_every_word else ""
        if self.target is None:
            text = (f"Over all {heads} encoder heads, '{word}' stands out most on '{best.key_token}' ({where}: "
                    f"{best.numbers()}).{habit} Name a target word (--target) to rank the heads by the link you "
                    f"are looking for.")
        else:
            target = self.tokens[self.target]
            row = self.weights[best.layer, best.head].copy()
            row[self.word] = -1.0
            top = int(row.argmax())
            if self.is_top_in(best) and not best.same_from_every_word:
                text = (f"This model learned to link '{word}' to '{target}': in {where} it is where '{word}' looks "
                        f"most ({best.numbers()}).")
            else:
                text = (f"This model did not learn to link '{word}' to '{target}': over all {heads} encoder heads, "
                        f"ranked by the weight '{word}' puts on '{target}' above what other words put there, the "
                        f"best is {where} ({best.numbers()})" +
                        (f", where it looks more at '{self.tokens[top]}' ({row[top]:.2f})." if top != self.target
                         else ".") + habit)
        if not self.trained:
            text += " The weights are random, so no link here means anything."
        return text


def head_search(subject, word=None, target=None):
    """Rank every encoder self-attention head by how much more `word` attends to `target` than other words do.

    Args:
        subject: a `tour.Subject`.
        word: the query word (a token or a position; default as `data.find_word`).
        target: the key word (a token or a position), or None: then each head is ranked by the
            other token on which the word's weight stands out most above the other words'.

    Returns:
        a `HeadSearch`.
    """
    i = find_word(subject, word)
    j = None if target is None else find_word(subject, target, "--target")
    layers = range(len(subject.model.encoder.layers))
    matrices = np.stack([capture.encoder_self_attention(subject, layer).weights for layer in layers])  # (L, H, q, k)
    weights = matrices[:, :, i]
    others_rows = np.delete(matrices, i, axis=2)
    baselines = others_rows.mean(axis=2) if others_rows.shape[2] else np.zeros_like(weights)  # (L, H, k)
    lifts = weights - baselines
    if j is None:
        candidates = lifts.copy()
        candidates[:, :, i] = -np.inf  # the word itself is left aside when looking for what it links to
        keys = candidates.argmax(-1)
    else:
        keys = np.full(weights.shape[:2], j)

    def pick(per_key):
        return np.take_along_axis(per_key, keys[..., None], -1)[..., 0]

    weight_grid, baseline_grid = pick(weights), pick(baselines)
    grid = weight_grid - baseline_grid
    order = sorted(np.ndindex(grid.shape), key=lambda lh: (-grid[lh], lh))
    ranking = [HeadMatch(int(l), int(h), float(weight_grid[l, h]), int(keys[l, h]), subject.src_tokens[keys[l, h]],
                         float(baseline_grid[l, h])) for l, h in order]
    return HeadSearch(i, j, subject.src_tokens, weights, weight_grid, baseline_grid, ranking, subject.trained)
