"""Head search: for one word (and optionally a target word), every encoder layer and head ranked by weight.

    from tinygrad_tf import tour
    found = tour.head_search(subject, "it", target="animal")
    found.ranking[0]          # HeadMatch(layer=1, head=3, weight=0.07, key=1, key_token='animal')
    found.statement()         # what this model learned and what not, in a sentence or two

A picture of one head shows what that head does; a reader looking for "it →
animal" needs to know whether ANY head makes that link. The search looks at
all of them, so a picture can follow the strongest one and say plainly when
none does.
"""
import dataclasses

import numpy as np

from . import capture
from .data import find_word


@dataclasses.dataclass(frozen=True)
class HeadMatch:
    """One layer/head: the weight from the word to `key_token` (the target, or the word it looks at most)."""

    layer: int
    head: int
    weight: float
    key: int
    key_token: str


@dataclasses.dataclass
class HeadSearch:
    """Every encoder self-attention head, for one query word.

    Attributes:
        word: the query's position; target: the target's position, or None.
        tokens: the source tokens as the model sees them.
        weights: (layers, heads, src_len) the word's attention weights in each head.
        grid: (layers, heads) the weight ranked by: on the target, or the largest on another word.
        ranking: every head as a `HeadMatch`, strongest first.
        trained: whether the weights were learned (a random model's links mean nothing).
    """

    word: int
    target: object
    tokens: list
    weights: np.ndarray
    grid: np.ndarray
    ranking: list
    trained: bool

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
        if self.target is None:
            text = (f"Over all {heads} encoder heads, '{word}' looks hardest at '{best.key_token}' ({best.weight:.2f}, "
                    f"{where}). Name a target word (--target) to rank the heads by the link you are looking for.")
        else:
            target = self.tokens[self.target]
            row = self.weights[best.layer, best.head].copy()
            row[self.word] = -1.0
            top = int(row.argmax())
            if self.is_top_in(best):
                text = (f"This model learned to link '{word}' to '{target}': in {where} it is where '{word}' looks "
                        f"most ({best.weight:.2f}).")
            else:
                text = (f"This model did not learn to link '{word}' to '{target}': over all {heads} encoder heads the "
                        f"most weight '{word}' puts on '{target}' is {best.weight:.2f} ({where}), where it looks more "
                        f"at '{self.tokens[top]}' ({row[top]:.2f}).")
        if not self.trained:
            text += " The weights are random, so no link here means anything."
        return text


def head_search(subject, word=None, target=None):
    """Rank every encoder self-attention head by how much `word` attends to `target`.

    Args:
        subject: a `tour.Subject`.
        word: the query word (a token or a position; default as `data.find_word`).
        target: the key word (a token or a position), or None: then each head is ranked by the
            largest weight the word puts on any other token.

    Returns:
        a `HeadSearch`.
    """
    i = find_word(subject, word)
    j = None if target is None else find_word(subject, target, "--target")
    layers = range(len(subject.model.encoder.layers))
    weights = np.stack([capture.encoder_self_attention(subject, layer).weights[:, i] for layer in layers])
    others = weights.copy()
    others[:, :, i] = -1.0  # the word itself is left aside when looking for what it links to
    keys = others.argmax(-1) if j is None else np.full(weights.shape[:2], j)
    grid = np.take_along_axis(weights, keys[..., None], -1)[..., 0]
    order = sorted(np.ndindex(grid.shape), key=lambda lh: (-grid[lh], lh))
    ranking = [HeadMatch(int(l), int(h), float(grid[l, h]), int(keys[l, h]), subject.src_tokens[keys[l, h]])
               for l, h in order]
    return HeadSearch(i, j, subject.src_tokens, weights, grid, ranking, subject.trained)
