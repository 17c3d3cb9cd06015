"""The tour: one picture per concept of the Transformer, drawn from a model's own numbers.

    from tinygrad_tf import tour
    subject = tour.random_subject()                  # or tour.load_subject("runs/eng-spa")
    tour.write_tour("tour", subject)                 # 01-embeddings.png ... 12-decoding.png, index.html
    tour.draw_scores(tour.self_attention_data(subject, layer=0, head=1, word="it"))   # one Figure
    tour.head_search(subject, "it", target="animal").ranking   # every layer/head, strongest link first

Each picture has a function that computes its numbers from the model
(`embeddings_data`, `self_attention_data`, ..., in `tour.data`) and one that
draws them (`draw_embeddings`, ..., a matplotlib Figure: a notebook shows it
inline). Drawing needs matplotlib (pip install -e .[plot]).
"""
from .capture import AttentionParts, attention_parts
from .data import (cross_attention_data, causal_data, decoding_data, embeddings_data, positional_data,
                   residual_norm_data, self_attention_data, stacks_data)
from .draw_attention import draw_heads, draw_matrix_form, draw_qkv, draw_scores, draw_word_attention
from .draw_basics import draw_embeddings, draw_positional, draw_residual_norm, draw_stacks
from .draw_decoder import draw_causal_mask, draw_cross_attention, draw_decoding
from .pictures import FILES, PICTURES, Choice
from .search import HeadMatch, HeadSearch, head_search
from .subject import DEFAULT_SENTENCE, Subject, load_subject, make_subject, random_subject
from .write import write_tour

__all__ = [
    "AttentionParts", "Choice", "HeadMatch", "HeadSearch", "DEFAULT_SENTENCE", "FILES", "PICTURES", "Subject", "attention_parts",
    "causal_data", "cross_attention_data", "decoding_data", "draw_causal_mask", "draw_cross_attention",
    "draw_decoding", "draw_embeddings", "draw_heads", "draw_matrix_form", "draw_positional", "draw_qkv",
    "draw_residual_norm", "draw_scores", "draw_stacks", "draw_word_attention", "embeddings_data", "head_search", "load_subject",
    "make_subject", "positional_data", "random_subject", "residual_norm_data", "self_attention_data",
    "stacks_data", "write_tour",
]
