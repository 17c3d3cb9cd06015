"""Data: tokenizer, vocabulary, corpus splits and batching."""
from .batching import Batch, make_batches
from .corpus import CORPUS_FILE, SYNTHETIC_TASKS, TASKS, TRANSLATION_TASKS, NoDataError, Splits, load_splits, read_pairs, synthetic_splits, translation_splits
from .tokenizer import detokenize, source_casing, tokenize
from .vocab import Vocab

__all__ = [
    "Batch", "CORPUS_FILE", "NoDataError", "SYNTHETIC_TASKS", "Splits", "TASKS", "TRANSLATION_TASKS", "Vocab",
    "detokenize", "load_splits", "source_casing", "make_batches", "read_pairs", "synthetic_splits", "tokenize",
    "translation_splits",
]
