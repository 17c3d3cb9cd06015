"""Transformer building blocks, each forward written with `ops` so the whole computation is in the graph."""
from .attention import MultiHeadAttention, scaled_dot_product_attention
from .decoder import Decoder, DecoderLayer
from .encoder import Encoder, EncoderLayer
from .feed_forward import FeedForward
from .layers import Dropout, Embedding, LayerNorm, Linear, set_fused
from .module import Module, ModuleList, Parameter, clones
from .positional import PositionalEncoding, sinusoid_table
from .sublayer import SublayerConnection
from .transformer import Transformer

__all__ = [
    "Decoder", "DecoderLayer", "Dropout", "Embedding", "Encoder", "EncoderLayer", "FeedForward",
    "LayerNorm", "Linear", "Module", "ModuleList", "MultiHeadAttention", "Parameter",
    "PositionalEncoding", "SublayerConnection", "Transformer", "clones",
    "scaled_dot_product_attention", "set_fused", "sinusoid_table",
]
