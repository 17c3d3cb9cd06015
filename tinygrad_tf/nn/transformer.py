"""The encoder-decoder Transformer of "Attention Is All You Need"."""
import math

import ops
from autograd import mark

from .decoder import Decoder, DecoderLayer
from .encoder import Encoder, EncoderLayer
from .kv_cache import DecoderCache
from .layers import Embedding, Linear
from .module import Module
from .positional import PositionalEncoding

TIE_CHOICES = (False, True, "all", "target")


class Transformer(Module):
    """Embeddings + positional encoding, an encoder, a decoder and a generator to vocabulary logits.

    Args:
        src_vocab, tgt_vocab: vocabulary sizes.
        d_model, num_heads, d_ff: widths (the paper's base model: 512, 8, 2048).
        num_encoder_layers, num_decoder_layers: stack depths (6 and 6).
        dropout: dropout rate everywhere (0.1).
        max_len: longest sequence the positional table covers.
        norm_first: pre-norm layers instead of the paper's post-norm.
        tie_weights: share weight matrices (vocab, d_model), as in the paper's section 3.4.
            True or "all": the source embedding, the target embedding and the
            generator's weight are one Parameter (needs src_vocab == tgt_vocab,
            i.e. one vocabulary for both languages). "target": only the target
            embedding and the generator share theirs. False: nothing shared.
            A shared Parameter appears once in `parameters()` (so an optimizer
            updates it once per step, with the sum of the gradients of all its
            uses) and under each of its names in `state_dict()`, as in PyTorch;
            loading writes it in place, so it stays shared.
        pad_id: token id of padding, used to build masks when none are given.
    """

    def __init__(self, src_vocab, tgt_vocab, d_model=512, num_heads=8, num_encoder_layers=6,
                 num_decoder_layers=6, d_ff=2048, dropout=0.1, max_len=5000, norm_first=False,
                 tie_weights=False, pad_id=0, activation="relu"):
        super().__init__()
        self.d_model, self.pad_id = d_model, pad_id
        self.src_embed = Embedding(src_vocab, d_model, padding_idx=pad_id)
        self.tgt_embed = Embedding(tgt_vocab, d_model, padding_idx=pad_id)
        self.positional = PositionalEncoding(d_model, dropout, max_len)
        self.encoder = Encoder(EncoderLayer(d_model, num_heads, d_ff, dropout, norm_first, activation), num_encoder_layers)
        self.decoder = Decoder(DecoderLayer(d_model, num_heads, d_ff, dropout, norm_first, activation), num_decoder_layers)
        self.generator = Linear(d_model, tgt_vocab)
        if tie_weights not in TIE_CHOICES:
            raise ValueError(f"Transformer: tie_weights must be one of {TIE_CHOICES}, got {tie_weights!r}")
        if tie_weights in (True, "all"):
            if src_vocab != tgt_vocab:
                raise ValueError(f"Transformer: tie_weights={tie_weights!r} shares one matrix between both vocabularies, "
                                 f"which needs them equal in size; got src_vocab={src_vocab}, tgt_vocab={tgt_vocab} "
                                 "(use one shared vocabulary, or tie_weights=\"target\")")
            self.src_embed.weight = self.tgt_embed.weight
        if tie_weights:
            self.generator.weight = self.tgt_embed.weight

    def src_mask(self, src):
        """(batch, 1, 1, src_len): True on real source tokens."""
        return ops.padding_mask(src, self.pad_id)

    def tgt_mask(self, tgt):
        """(batch, 1, tgt_len, tgt_len): True where a target token may see a real, earlier-or-same token."""
        mask = self.src_mask(tgt) & ops.causal_mask(tgt.shape[1], device=tgt.device)
        mask.name = "causal and padding mask (True = may attend)"
        return mask

    def encode(self, src, src_mask=None):
        """src (batch, src_len) ids -> memory (batch, src_len, d_model)."""
        src_mask = self.src_mask(src) if src_mask is None else src_mask
        x = self.positional(mark(self.src_embed(src) * math.sqrt(self.d_model), "× √d_model"))
        return mark(self.encoder(x, src_mask), "encoder output (memory)")

    def decode(self, memory, src_mask, tgt, tgt_mask=None, cache=None):
        """Decoder states (batch, tgt_len, d_model) for target ids given the encoder memory.

        With `cache` (a `DecoderCache` from `new_cache()`, for decoding), `tgt`
        holds only the tokens after those already cached, usually one: the
        earlier positions' keys and values come from the cache. The cached
        prefix is taken to have no padding.
        """
        offset = 0 if cache is None else cache.length
        if tgt_mask is None:
            tgt_mask = self.tgt_mask(tgt) if cache is None else self._step_mask(tgt, offset)
        x = self.positional(mark(self.tgt_embed(tgt) * math.sqrt(self.d_model), "× √d_model"), offset)
        return self.decoder(x, memory, src_mask, tgt_mask, cache)

    def new_cache(self):
        """An empty key/value cache for incremental decoding with `decode(..., cache=)`."""
        return DecoderCache(len(self.decoder.layers))

    @staticmethod
    def _step_mask(tgt, offset):
        """(new, offset + new): the new positions see every cached one and the new ones up to themselves."""
        new = tgt.shape[1]
        mask = ops.causal_mask(offset + new, device=tgt.device)[offset:]
        mask.name = "causal mask (True = may attend)"
        return mask

    def forward(self, src, tgt, src_mask=None, tgt_mask=None):
        """Logits (batch, tgt_len, tgt_vocab) for each next target token."""
        src_mask = self.src_mask(src) if src_mask is None else src_mask
        memory = self.encode(src, src_mask)
        return mark(self.generator(self.decode(memory, src_mask, tgt, tgt_mask)), "logits")
