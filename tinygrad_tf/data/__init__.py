"""Data: tokenizers, vocabulary, corpus splits and batching."""
from .batching import Batch, make_batches
from .bpe import BPETokenizer
from .corpus import (
    CORPUS_FILE, SYNTHETIC_TASKS, TASKS, TRANSLATION_TASKS, NoDataError, Splits, load_splits, load_text_splits,
    read_pairs, synthetic_splits, translation_splits, translation_text_splits,
)
from .tokenizer import WordTokenizer, detokenize, source_casing, tokenize
from .tokenizer_kinds import TOKENIZER_KINDS, tokenizers_from_meta, tokenizers_to_meta, train_tokenizers, unknown_rate
from .vocab import Vocab

__all__ = [
    "BPETokenizer", "Batch", "CORPUS_FILE", "NoDataError", "SYNTHETIC_TASKS", "Splits", "TASKS", "TOKENIZER_KINDS",
    "TRANSLATION_TASKS", "Vocab", "WordTokenizer", "detokenize", "load_splits", "load_text_splits", "make_batches",
    "read_pairs", "source_casing", "synthetic_splits", "tokenize", "tokenizers_from_meta", "tokenizers_to_meta",
    "train_tokenizers", "translation_splits", "translation_text_splits", "unknown_rate",
]
