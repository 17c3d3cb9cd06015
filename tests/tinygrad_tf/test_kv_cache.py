"""Decoding with the key/value cache gives what decoding without it gives: same tokens, close probabilities.

Checked on a briefly trained copy model and on random weights (post-norm and
pre-norm), for greedy and beam search; the cached decoder states are also
compared with the plain forward pass position by position.
"""
import numpy as np
import pytest

from autograd import Tensor, manual_seed, no_grad
from tinygrad_tf.data import Vocab
from tinygrad_tf.decode import beam_search, greedy_decode
from tinygrad_tf.nn import Transformer
from tinygrad_tf.nn.kv_cache import AttentionCache, DecoderCache
from nn_testing import briefly_trained

SHORT = dict(steps=150, d_model=32, heads=2, layers=2, d_ff=64, max_pairs=1000, batch_tokens=400,
             warmup=50, lr=1.0, eval_every=10**6, seed=3)


@pytest.fixture(scope="module")
def trained():
    trainer = briefly_trained("copy", **SHORT)
    sources = [trainer.src_vocab.encode_source(s) for s, _ in trainer.splits.test[:12]]
    return trainer.model, sources


def _random_model(norm_first, seed):
    manual_seed(seed)
    model = Transformer(17, 19, d_model=24, num_heads=3, num_encoder_layers=2, num_decoder_layers=3,
                        d_ff=40, dropout=0.0, max_len=64, norm_first=norm_first).eval()
    rng = np.random.default_rng(seed)
    sources = [list(rng.integers(4, 17, size=int(rng.integers(2, 9)))) + [Vocab.eos_id] for _ in range(6)]
    return model, sources


RANDOM = {"random post-norm": (False, 0), "random pre-norm": (True, 1)}  # (norm_first, seed)


@pytest.fixture(params=["trained copy", *RANDOM])
def model_and_sources(request, trained):
    return trained if request.param == "trained copy" else _random_model(*RANDOM[request.param])


def _padded(sources):
    batch = np.full((len(sources), max(map(len, sources))), Vocab.pad_id, dtype=np.int64)
    for r, s in enumerate(sources):
        batch[r, : len(s)] = s
    return batch


def test_greedy_with_and_without_cache_agree(model_and_sources):
    model, sources = model_and_sources
    src = Tensor(_padded(sources))
    cached, cached_align = greedy_decode(model, src, max_len=12, use_cache=True)
    plain, plain_align = greedy_decode(model, src, max_len=12, use_cache=False)
    np.testing.assert_array_equal(cached, plain)
    for r in range(len(sources)):  # alignments up to <eos> (after it a finished row only idles)
        ids = list(plain[r])
        n = ids.index(Vocab.eos_id) + 1 if Vocab.eos_id in ids else len(ids)
        np.testing.assert_array_equal(cached_align[r, :n], plain_align[r, :n])


@pytest.mark.parametrize("beam", [2, 4])
def test_beam_search_with_and_without_cache_agree(model_and_sources, beam):
    model, sources = model_and_sources
    for s in sources[:6]:
        cached, cached_align = beam_search(model, np.array([s]), beam=beam, max_len=12, use_cache=True)
        plain, plain_align = beam_search(model, np.array([s]), beam=beam, max_len=12, use_cache=False)
        np.testing.assert_array_equal(cached, plain)
        np.testing.assert_array_equal(cached_align, plain_align)


@no_grad()
def test_cached_steps_reproduce_the_full_forward(model_and_sources):
    """Feeding a target one token at a time through the cache gives each position's full-forward state."""
    model, sources = model_and_sources
    src = Tensor(_padded(sources[:4]))
    rng = np.random.default_rng(5)
    vocab = model.generator.weight.shape[0]
    tgt = np.concatenate([np.full((4, 1), Vocab.bos_id), rng.integers(4, vocab, size=(4, 7))], axis=1)
    src_mask = model.src_mask(src)
    memory = model.encode(src, src_mask)
    full = model.generator(model.decode(memory, src_mask, Tensor(tgt))).numpy()  # (4, 8, vocab)
    cache = model.new_cache()
    for t in range(tgt.shape[1]):
        assert cache.length == t
        step = model.generator(model.decode(memory, src_mask, Tensor(tgt[:, t : t + 1]), cache=cache)).numpy()
        np.testing.assert_allclose(step[:, 0], full[:, t], rtol=1e-4, atol=1e-5)
    # several new tokens at once after a cached prefix: the mask keeps them causal among themselves
    cache = model.new_cache()
    model.decode(memory, src_mask, Tensor(tgt[:, :3]), cache=cache)
    rest = model.generator(model.decode(memory, src_mask, Tensor(tgt[:, 3:]), cache=cache)).numpy()
    np.testing.assert_allclose(rest, full[:, 3:], rtol=1e-4, atol=1e-5)


def test_reorder_follows_the_rows():
    cache = DecoderCache(2)
    for layer in cache.layers:
        layer.self_attn.extend(Tensor(np.arange(3 * 2 * 1 * 2, dtype=np.float32).reshape(3, 2, 1, 2)),
                               Tensor(np.ones((3, 2, 1, 2), dtype=np.float32)))
    before = cache.layers[1].self_attn.keys.numpy()
    cache.reorder(np.array([2, 2, 0]))
    np.testing.assert_array_equal(cache.layers[1].self_attn.keys.numpy(), before[[2, 2, 0]])
    assert cache.length == 1


def test_static_cache_is_filled_once():
    cache = AttentionCache(static=True)
    assert not cache.ready
    k = Tensor(np.zeros((1, 2, 5, 3), dtype=np.float32))
    cache.extend(k, k)
    assert cache.ready and cache.keys.shape == (1, 2, 5, 3)
    growing = AttentionCache()
    growing.extend(k, k)
    growing.extend(k[:, :, :1], k[:, :, :1])
    assert growing.keys.shape == (1, 2, 6, 3) and not growing.ready
