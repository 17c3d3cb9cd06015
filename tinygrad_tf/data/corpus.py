"""Sentence pairs: the bundled English-Spanish corpus and the synthetic copy/reverse tasks."""
import gzip
import os

import numpy as np

from .tokenizer import tokenize

CORPUS_DIR = os.path.join(os.path.dirname(__file__), "corpus")
CORPUS_FILE = os.path.join(CORPUS_DIR, "spa.txt.gz")
TRANSLATION_TASKS = ("spa-eng", "eng-spa")
SYNTHETIC_TASKS = ("copy", "reverse")
TASKS = TRANSLATION_TASKS + SYNTHETIC_TASKS


class NoDataError(ValueError):
    """A filter left no training data; `field` names the setting to change (e.g. "max_len")."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


class Splits:
    """(source, target) pairs for train, valid and test: raw text, or token lists."""

    def __init__(self, train, valid, test):
        self.train, self.valid, self.test = train, valid, test

    def map(self, source_fn, target_fn):
        """New splits with `source_fn` applied to every source and `target_fn` to every target."""
        return Splits(*([(source_fn(s), target_fn(t)) for s, t in pairs] for pairs in (self.train, self.valid, self.test)))

    def __repr__(self):
        return f"Splits(train={len(self.train)}, valid={len(self.valid)}, test={len(self.test)})"


def read_pairs(path=CORPUS_FILE):
    """(english, spanish) raw text pairs from a Tatoeba/manythings file (TAB separated, gzip or plain)."""
    opener = gzip.open if path.endswith(".gz") else open
    pairs = []
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                cols = line.rstrip("\n").split("\t")
                if len(cols) < 2:
                    raise ValueError(f"{path}:{n}: expected 'english<TAB>spanish', got {line[:60]!r}")
                pairs.append((cols[0], cols[1]))
    except (OSError, EOFError) as e:
        raise ValueError(f"cannot read corpus {path}: {e}") from None
    return pairs


def translation_splits(task="spa-eng", seed=0, max_len=12, max_pairs=None, valid_size=1000, test_size=1000, path=CORPUS_FILE):
    """Word-tokenised splits of the bundled corpus: `translation_text_splits` through `tokenize`."""
    return translation_text_splits(task, seed, max_len, max_pairs, valid_size, test_size, path).map(tokenize, tokenize)


def translation_text_splits(task="spa-eng", seed=0, max_len=12, max_pairs=None, valid_size=1000, test_size=1000, path=CORPUS_FILE):
    """Raw-text splits of the bundled corpus, deterministic for a seed.

    Pairs are grouped by their source sentence and whole groups go to one
    split, so no test source sentence (with any of its translations) is seen
    in training. Pairs longer than `max_len` tokens on either side are dropped.

    Args:
        task: "spa-eng" (Spanish -> English) or "eng-spa".
        seed: seed of the shuffle that makes the split.
        max_len: longest sentence kept, in words.
        max_pairs: keep at most this many pairs in all (for quick runs).
        valid_size, test_size: pairs in valid and test (fewer if the corpus is small).
    """
    if task not in TRANSLATION_TASKS:
        raise ValueError(f"unknown translation task {task!r}; expected one of {TRANSLATION_TASKS}")
    groups = {}
    for eng, spa in read_pairs(path):
        src, tgt = (spa, eng) if task == "spa-eng" else (eng, spa)
        s, t = tokenize(src), tokenize(tgt)
        if 0 < len(s) <= max_len and 0 < len(t) <= max_len:
            groups.setdefault(tuple(s), []).append((src, tgt))
    keys = list(groups)
    np.random.default_rng(seed).shuffle(keys)
    pairs_in = [groups[k] for k in keys]
    total = sum(len(g) for g in pairs_in)
    if max_pairs is not None and max_pairs < total:
        valid_size = min(valid_size, max(1, max_pairs // 20))
        test_size = min(test_size, max(1, max_pairs // 20))
    if not pairs_in:
        raise NoDataError("max_len", f"max_len={max_len} keeps no sentence pair of {path} (both sides must have "
                                     f"1 to {max_len} tokens)")
    out, taken = [[], [], []], 0
    for group in pairs_in:
        if max_pairs is not None and taken >= max_pairs:
            break
        which = 1 if len(out[1]) < valid_size else 2 if len(out[2]) < test_size else 0
        out[which].extend(group)
        taken += len(group)
    if not out[0]:
        field = "max_pairs" if max_pairs is not None and max_pairs < total else "max_len"
        raise NoDataError(field, f"no training pairs left: {field}={max_pairs if field == 'max_pairs' else max_len} keeps "
                                 f"{min(taken, total)} pair{'' if min(taken, total) == 1 else 's'}, and the validation and test "
                                 "splits take them all")
    return Splits(*((out[0], out[1], out[2])))


def synthetic_splits(task="copy", seed=0, train_size=20000, valid_size=500, test_size=500, min_len=3, max_len=10):
    """Random digit sequences of length min_len..max_len; the target copies or reverses them.

    Test and valid sequences never occur in train.

    Raises:
        NoDataError: when `train_size` is below 1, or `max_len` leaves too few
            distinct sequences to hold out valid and test (and still train).
    """
    if task not in SYNTHETIC_TASKS:
        raise ValueError(f"unknown synthetic task {task!r}; expected one of {SYNTHETIC_TASKS}")
    if train_size < 1:
        raise NoDataError("max_pairs", f"no training pairs: max_pairs={train_size}")
    if max_len < min_len:
        raise NoDataError("max_len", f"max_len={max_len} is below the shortest sequence ({min_len} digits)")
    distinct = sum(10**n for n in range(min_len, max_len + 1))
    if distinct < 2 * (valid_size + test_size):  # sampling the held-out sets would never finish
        raise NoDataError("max_len", f"max_len={max_len} leaves {distinct} distinct sequences of {min_len} to "
                                     f"{max_len} digits, too few to hold out {valid_size + test_size} for valid and "
                                     f"test and train on the rest (the shortest allowed is {_shortest(min_len, valid_size + test_size)})")
    rng = np.random.default_rng(seed)

    def sample(n, exclude, distinct):
        seen, pairs = set(exclude), []
        while len(pairs) < n:
            seq = tuple(str(d) for d in rng.integers(0, 10, rng.integers(min_len, max_len + 1)))
            if seq in seen:
                continue
            if distinct:
                seen.add(seq)
            pairs.append((list(seq), list(seq) if task == "copy" else list(reversed(seq))))
        return pairs

    # Held-out sequences are distinct and never trained on. Training sequences may
    # repeat: there are only 10^3 sequences of length 3, and requiring distinct ones
    # would make short sequences rare in training while lengths are uniform in test.
    test = sample(test_size, (), distinct=True)
    valid = sample(valid_size, {tuple(s) for s, _ in test}, distinct=True)
    held_out = {tuple(s) for s, _ in test + valid}
    return Splits(sample(train_size, held_out, distinct=False), valid, test)


def _shortest(min_len, held_out):
    """The smallest max_len whose distinct sequences can hold out `held_out` of them."""
    max_len = min_len
    while sum(10**n for n in range(min_len, max_len + 1)) < 2 * held_out:
        max_len += 1
    return max_len


def load_splits(task, seed=0, max_len=12, max_pairs=None):
    """The word-tokenised splits of any task: "spa-eng", "eng-spa", "copy" or "reverse".

    For the synthetic tasks `max_len` is the longest sequence and `max_pairs`
    the number of training pairs (default 20000).

    Raises:
        NoDataError: naming the filter (max_len or max_pairs) that left no training data.
    """
    return load_text_splits(task, seed, max_len, max_pairs).map(tokenize, tokenize)


def load_text_splits(task, seed=0, max_len=12, max_pairs=None):
    """The raw-text splits of any task (a synthetic sequence is its digits joined by spaces); see `load_splits`."""
    if task in SYNTHETIC_TASKS:
        train_size = 20000 if max_pairs is None else max_pairs
        return synthetic_splits(task, seed, train_size=train_size, max_len=max_len).map(" ".join, " ".join)
    return translation_text_splits(task, seed, max_len=max_len, max_pairs=max_pairs)
