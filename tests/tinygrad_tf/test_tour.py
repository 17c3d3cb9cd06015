"""The tour (tinygrad_tf.tour): each picture's numbers against the model's own tensors, the PNGs, the CLI."""
import dataclasses
import math
import os
import re
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

from click.testing import CliRunner  # noqa: E402

from autograd import Tensor, manual_seed, no_grad  # noqa: E402
from helpers import assert_clean_error  # noqa: E402
from tinygrad_tf import TrainConfig, Trainer, nn, tour  # noqa: E402
from tinygrad_tf.cli import main  # noqa: E402
from tinygrad_tf.data import Vocab, tokenize  # noqa: E402
from tinygrad_tf.data.corpus import read_pairs, translation_splits  # noqa: E402
from tinygrad_tf.nn import sinusoid_table  # noqa: E402


@pytest.fixture(scope="module")
def subject():
    return tour.random_subject()


def _forward(subject):
    """One full teacher-forced forward, which leaves every module's `.attention_weights`."""
    with no_grad():
        return subject.model(subject.tensor(subject.src_ids), subject.tensor(subject.tgt_ids)).numpy()[0]


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _layer_norm(x, norm):
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * norm.weight.numpy() + norm.bias.numpy()


# ---- the numbers ------------------------------------------------------------------
def test_subject_reads_the_sentence(subject):
    assert subject.src_tokens[:3] == ["the", "animal", "didn't"] and subject.src_tokens[-1] == "<eos>"
    assert subject.src_ids.shape == (1, len(subject.src_tokens))
    assert subject.tgt_tokens[0] == "<bos>" and len(subject.tgt_tokens) == len(subject.out_ids)
    assert Vocab.unk_id not in subject.src_ids  # the random model's vocabulary is the sentence's words


def test_embeddings_are_the_model_rows(subject):
    data = tour.embeddings_data(subject)
    table = subject.model.src_embed.weight.numpy()
    np.testing.assert_allclose(data.embedded, table[subject.src_ids[0]], rtol=1e-6)
    np.testing.assert_allclose(data.scaled, data.embedded * math.sqrt(data.d_model), rtol=1e-5)
    pe = subject.model.positional.pe.numpy()[: len(data.tokens)]
    np.testing.assert_allclose(data.positioned - data.scaled, pe, atol=1e-5)


@pytest.mark.parametrize("layer", [0, 1])
def test_self_attention_parts_match_the_module(subject, layer):
    data = tour.self_attention_data(subject, layer=layer, head=1, word="it")
    p = data.parts
    assert data.word == subject.src_tokens.index("it") and p.num_heads == 4
    _forward(subject)
    attn = subject.model.encoder.layers[layer].self_attn
    np.testing.assert_allclose(p.weights, attn.attention_weights.numpy()[0], atol=1e-6)
    # a plain NumPy recomputation from the layer input and the projections' parameters
    x, d_k = p.x_query, p.d_k
    project = lambda lin: (x @ lin.weight.numpy().T + lin.bias.numpy()).reshape(len(x), 4, d_k).swapaxes(0, 1)  # noqa: E731
    q, k, v = project(attn.q_proj), project(attn.k_proj), project(attn.v_proj)
    np.testing.assert_allclose(p.q, q, rtol=1e-4, atol=1e-5)
    for name, b, projected in (("q", p.b_q, q), ("k", p.b_k, k), ("v", p.b_v, v)):  # picture 03's X·W + b
        np.testing.assert_array_equal(b, getattr(attn, f"{name}_proj").bias.numpy())
        w = getattr(p, f"w_{name}")
        np.testing.assert_allclose((x @ w + b)[:, d_k:2 * d_k], projected[1], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(p.scores, q @ k.swapaxes(1, 2), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(p.scaled, p.scores / math.sqrt(d_k), rtol=1e-5, atol=1e-6)
    weights = _softmax(q @ k.swapaxes(1, 2) / math.sqrt(d_k))
    np.testing.assert_allclose(p.weights, weights, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(p.z, weights @ v, rtol=1e-4, atol=1e-5)
    concat = (weights @ v).swapaxes(0, 1).reshape(len(x), -1)
    np.testing.assert_allclose(p.concat, concat, rtol=1e-4, atol=1e-5)
    with no_grad():
        out = attn(Tensor(x[None]), Tensor(x[None]), Tensor(x[None])).numpy()[0]
    np.testing.assert_allclose(p.output, out, rtol=1e-4, atol=1e-5)


def test_residual_norm_steps(subject):
    data = tour.residual_norm_data(subject, layer=1)
    (_, x), (_, sub), (_, summed), (_, normed) = data.steps
    np.testing.assert_allclose(summed, x + sub, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(normed, _layer_norm(summed, subject.model.encoder.layers[1].norm1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(x, tour.self_attention_data(subject, 1).parts.x_query, rtol=1e-6)


def test_cross_attention_matches_the_module(subject):
    data = tour.cross_attention_data(subject, layer=1, head=2)
    logits = _forward(subject)
    block = subject.model.decoder.layers[1]
    np.testing.assert_allclose(data.parts.weights, block.cross_attn.attention_weights.numpy()[0], atol=1e-6)
    with no_grad():
        memory = subject.model.encode(subject.tensor(subject.src_ids)).numpy()[0]
    np.testing.assert_allclose(data.parts.x_key, memory, rtol=1e-5, atol=1e-6)
    k = memory @ block.cross_attn.k_proj.weight.numpy().T + block.cross_attn.k_proj.bias.numpy()
    np.testing.assert_allclose(data.parts.k[2], k[:, 16:24], rtol=1e-4, atol=1e-5)
    logits[:, [Vocab.pad_id, Vocab.bos_id]] = -np.inf  # never chosen, as in greedy decoding
    predicted = [subject.tgt_vocab.itos[i] for i in logits.argmax(-1)]  # what each decoder row writes
    assert data.queries == [f"{read} → {wrote}" for read, wrote in zip(subject.tgt_tokens, predicted)]
    assert data.keys == subject.src_tokens


def test_causal_mask_data(subject):
    data = tour.causal_data(subject, layer=0, head=3)
    p, n = data.parts, len(subject.tgt_tokens)
    _forward(subject)
    np.testing.assert_allclose(p.weights, subject.model.decoder.layers[0].self_attn.attention_weights.numpy()[0], atol=1e-6)
    future = np.triu(np.ones((n, n), dtype=bool), 1)
    np.testing.assert_array_equal(p.mask, ~future)
    assert np.isneginf(p.masked[:, future]).all() and np.isfinite(p.masked[:, ~future]).all()
    assert (p.weights[:, future] == 0).all()
    np.testing.assert_allclose(p.weights.sum(-1), 1.0, rtol=1e-5)


def test_decoding_steps_follow_the_model(subject):
    steps = tour.decoding_data(subject, k=4)
    assert [s.chosen for s in steps] == subject.output_tokens
    probs = _softmax(_forward(subject))  # row i: the teacher-forced distribution of step i
    itos = subject.tgt_vocab.itos
    for i, step in enumerate(steps):
        assert step.prefix == subject.tgt_tokens[: i + 1]
        np.testing.assert_allclose(step.top_probs, probs[i, [itos.index(t) for t in step.top_tokens]], rtol=1e-4)
        assert (np.diff(step.top_probs) <= 0).all() and len(step.top_tokens) == 4
        np.testing.assert_allclose(step.probs, probs[i], rtol=1e-4, atol=1e-7)  # the whole vocabulary
        np.testing.assert_allclose(_softmax(step.logits[None])[0], probs[i], rtol=1e-4, atol=1e-7)
        gen = subject.model.generator
        np.testing.assert_allclose(step.hidden @ gen.weight.numpy().T + gen.bias.numpy(), step.logits, rtol=1e-4,
                                   atol=1e-4)
        if step.chosen != "<eos>":
            assert step.became == subject.output_words[i]


def test_pre_norm_model(tmp_path):
    """Pre-norm layers attend over LayerNorm(x): the pictures' weights still equal the modules'."""
    manual_seed(3)
    vocab = Vocab("the cat sees a dog".split())
    model = nn.Transformer(len(vocab), len(vocab), d_model=16, num_heads=2, num_encoder_layers=2,
                           num_decoder_layers=2, d_ff=32, dropout=0.0, max_len=32, norm_first=True)
    pre = tour.make_subject(model, vocab, vocab, "the cat sees a dog", trained=False)
    _forward(pre)
    np.testing.assert_allclose(tour.self_attention_data(pre, 1).parts.weights,
                               model.encoder.layers[1].self_attn.attention_weights.numpy()[0], atol=1e-6)
    np.testing.assert_allclose(tour.cross_attention_data(pre, 1).parts.weights,
                               model.decoder.layers[1].cross_attn.attention_weights.numpy()[0], atol=1e-6)
    data = tour.residual_norm_data(pre, 0)
    assert data.norm_first and [label for label, _ in data.steps][1] == "LayerNorm(x)"
    (_, x), _, (_, out), (_, summed) = data.steps
    np.testing.assert_allclose(summed, x + out, rtol=1e-6)


def test_positional_table_is_the_models(subject):
    data = tour.positional_data(positions=20, d_model=32)
    np.testing.assert_allclose(data.table, subject.model.positional.pe.numpy()[:20], rtol=1e-6)
    np.testing.assert_array_equal(data.halves[:, :16], data.table[:, 0::2])
    assert tour.positional_data().table.shape == (20, 512)
    np.testing.assert_allclose(tour.positional_data().table, sinusoid_table(20, 512))


def test_stacks_follow_the_modules(subject):
    data = tour.stacks_data(subject)
    assert len(data.encoder_layers) == 2 and len(data.decoder_layers) == 2
    assert data.decoder_layers[1][2] == ("cross_attn", "MultiHeadAttention", "decoder.layers.1.cross_attn")
    assert (data.d_model, data.num_heads, data.d_ff) == (32, 4, 64)


@pytest.mark.parametrize("bad, message", [(dict(layer=2), "--layer"), (dict(head=4), "--head"),
                                          (dict(word="dog"), "not a token"), (dict(word="99"), "--word")])
def test_bad_choices_are_named(subject, bad, message):
    with pytest.raises(ValueError, match=message):
        tour.self_attention_data(subject, **{"layer": 0, "head": 0, **bad})


# ---- the pictures ---------------------------------------------------------------------
def _check_png(path, size):
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == size, (path, image.size, size)
        pixels = np.asarray(image.convert("RGB")).astype(np.int64)
    colours = np.unique((pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2])
    assert len(colours) > 50, f"{path}: only {len(colours)} colours"


def test_every_picture_draws(subject, tmp_path):
    choice = tour.Choice(layer=1, head=2, word="it")
    for picture in tour.PICTURES:
        figure = picture.make(subject, choice)
        path = str(tmp_path / picture.file)
        figure.savefig(path, dpi=100)
        width, height = figure.get_size_inches() * 100
        _check_png(path, (round(width), round(height)))
        text = " ".join(t.get_text() for t in figure.findobj(lambda o: hasattr(o, "get_text")))
        assert figure._suptitle is not None and figure._suptitle.get_text(), picture.file
        if picture.file in ("01-embeddings.png", "04-scores.png", "07-attention.png"):
            assert "animal" in text and "tired" in text, picture.file  # token names on the axes


def test_scores_picture_prints_the_numbers(subject):
    data = tour.self_attention_data(subject, 0, 1, "it")
    figure = tour.draw_scores(data)
    texts = {t.get_text() for t in figure.findobj(lambda o: hasattr(o, "get_text"))}
    row = data.parts.weights[1, data.word]
    assert all(f"{w:.3f}" in texts for w in row)
    assert all(f"{s:.2f}" in texts for s in data.parts.scores[1, data.word])


# ---- the CLI, with a trained eng-spa run --------------------------------------------------
@pytest.fixture(scope="module")
def eng_spa_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("tour") / "eng-spa")
    config = TrainConfig.for_task("eng-spa", steps=4, eval_every=4, max_pairs=400, d_model=16, heads=2, layers=1,
                                  d_ff=32, bleu_sentences=5, batch_tokens=400)
    Trainer(config, out=out, log=lambda *a: None).fit(progress=False)
    return out


def test_eng_spa_reads_english_first(tmp_path):
    corpus = tmp_path / "pairs.txt"
    everything = read_pairs()  # (english, spanish)
    raw = everything[5000:5300:3] + [pair for pair in everything[:20000] if pair[0].endswith("?")][:20]
    corpus.write_text("".join(f"{e}\t{s}\n" for e, s in raw), encoding="utf-8")
    splits = translation_splits("eng-spa", path=str(corpus), valid_size=5, test_size=5)
    pairs = splits.train + splits.valid + splits.test
    assert sorted(map(tuple, (s for s, _ in pairs))) == sorted(tuple(tokenize(e)) for e, s in raw if _fits(e, s))
    assert sorted((tuple(s), tuple(t)) for s, t in pairs) == sorted(
        (tuple(tokenize(e)), tuple(tokenize(s))) for e, s in raw if _fits(e, s))
    assert any("¿" in t for _, t in pairs) and not any("¿" in s for s, _ in pairs)


def _fits(english, spanish, max_len=12):
    return 0 < len(tokenize(english)) <= max_len and 0 < len(tokenize(spanish)) <= max_len


def test_cli_tour_of_a_trained_run(eng_spa_run, tmp_path):
    out = tmp_path / "tour"
    result = CliRunner().invoke(main, ["tour", "--out", str(out), "--checkpoint", eng_spa_run,
                                       "--sentence", "Is it your dog?", "--layer", "0", "--head", "1", "--word", "it"])
    assert result.exit_code == 0, result.output
    numbers = {f.replace(".png", ".html") for f in tour.FILES} - {"02-stacks.html"}  # every picture with a heatmap
    assert sorted(os.listdir(out)) == sorted(tour.FILES + ("index.html",) + tuple(numbers))
    page = (out / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<img src="([^"]+)"', page) == list(tour.FILES)
    assert re.findall(r'<a href="([^"]+)"[^>]*><img', page) == list(tour.FILES)  # each opens at full size
    assert "http" not in page and "Is it your dog?" in page
    with Image.open(out / "07-attention.png") as image:
        assert image.size[0] > 1000
    again = CliRunner().invoke(main, ["tour", "--out", str(out), "--checkpoint", eng_spa_run])
    assert_clean_error(again, "already holds a tour", "--overwrite")


@pytest.mark.parametrize("args, fragment", [
    (["--head", "7"], "--head 7"), (["--layer", "3"], "--layer 3"), (["--word", "dog"], "'dog' is not a token"),
    (["--sentence", "  "], "no tokens"), (["--checkpoint", "no/such/run"], "no/such/run")])
def test_cli_errors_are_one_line(args, fragment, tmp_path):
    result = CliRunner().invoke(main, ["tour", "--out", str(tmp_path / "t")] + args)
    assert_clean_error(result, fragment)
    assert not (tmp_path / "t").exists()


def test_cli_without_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    for name in ("matplotlib", "matplotlib.backends.backend_agg", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)  # an import of it now fails, as when it is not installed
    result = CliRunner().invoke(main, ["tour", "--out", str(tmp_path / "t")])
    assert_clean_error(result, "pip install -e .[plot]")
    assert not (tmp_path / "t").exists()


# ---- a sentence the model cannot read ---------------------------------------------------------
def test_unknown_words_are_labelled_and_warned_on_the_page(tmp_path):
    known = ["the", "animal", "."]
    manual_seed(0)
    model = nn.Transformer(len(Vocab(known)), 12, d_model=16, num_heads=2, num_encoder_layers=1, num_decoder_layers=1,
                           d_ff=32, dropout=0.0, max_len=32, pad_id=Vocab.pad_id)
    subject = tour.make_subject(model, Vocab(known), Vocab([f"t{i}" for i in range(8)]), max_len=4)
    words = tokenize(tour.DEFAULT_SENTENCE)
    assert subject.src_words == words + ["<eos>"]
    assert subject.src_tokens == [w if w in known else f"<unk> ({w})" for w in words] + ["<eos>"]
    assert subject.reading.unknown == sum(w not in known for w in words) and subject.reading.warnings
    assert tour.self_attention_data(subject, 0, 0, "it").queries == subject.src_tokens  # "it" is found by its word
    tour.write_tour(str(tmp_path), subject)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'class="warning"' in page and "&lt;unk&gt; (didn&#x27;t)" in page


def test_cli_warns_when_the_checkpoint_reads_the_other_language(eng_spa_run, tmp_path):
    result = CliRunner().invoke(main, ["tour", "--out", str(tmp_path / "t"), "--checkpoint", eng_spa_run,
                                       "--sentence", "El perro es mío y el gato es tuyo."])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert any("reads English" in line and "--task spa-eng" in line for line in warned), result.output
    assert 'class="warning"' in (tmp_path / "t" / "index.html").read_text(encoding="utf-8")


# ---- the head search ----------------------------------------------------------------------------
def _module_matrices(subject):
    """{(layer, head): the (query, key) attention weights} from the modules' own `.attention_weights`."""
    _forward(subject)
    return {(l, h): layer.self_attn.attention_weights.numpy()[0, h]
            for l, layer in enumerate(subject.model.encoder.layers) for h in range(layer.self_attn.num_heads)}


@pytest.mark.parametrize("target", ["animal", "street", None])
def test_head_search_ranks_every_head_by_the_words_weight_above_the_other_words(subject, target):
    search = tour.head_search(subject, "it", target=target)
    i = subject.src_words.index("it")
    matrices = _module_matrices(subject)
    baselines = {k: np.delete(m, i, axis=0).mean(axis=0) for k, m in matrices.items()}  # other words' mean per key
    lifts = {k: m[i] - baselines[k] for k, m in matrices.items()}
    if target is None:
        keys = {k: int(np.where(np.arange(len(r)) == i, -np.inf, r).argmax()) for k, r in lifts.items()}
    else:
        keys = {k: subject.src_words.index(target) for k in matrices}
    expected = {k: float(lifts[k][keys[k]]) for k in matrices}
    order = sorted(expected, key=lambda k: (-expected[k], k))
    assert [(m.layer, m.head) for m in search.ranking] == order and len(order) == search.grid.size
    np.testing.assert_allclose([m.lift for m in search.ranking], [expected[k] for k in order], atol=1e-6)
    np.testing.assert_allclose([m.weight for m in search.ranking], [matrices[k][i, keys[k]] for k in order], atol=1e-6)
    np.testing.assert_allclose([m.baseline for m in search.ranking], [baselines[k][keys[k]] for k in order], atol=1e-6)
    assert [m.key_token for m in search.ranking] == [subject.src_tokens[keys[k]] for k in order]
    best = order[0]
    layer, head = tour.pictures.followed_head(subject, tour.Choice(word="it", target=target), search)
    assert (layer, head) == best  # picture 07 follows the best head
    statement = search.statement()
    assert f"{search.best.weight:.2f}; other words {search.best.baseline:.2f} on average" in statement  # both numbers
    if target is not None:
        row = np.where(np.arange(len(matrices[best])) == i, -1.0, matrices[best][i])
        habit = baselines[best][keys[best]] >= 0.5 * matrices[best][i, keys[best]]
        learned = subject.src_tokens[int(row.argmax())] == target and not habit
        assert ("learned to link" in statement) == learned
        assert ("did not learn" in statement) == (not learned)
    assert "random" in statement  # the random model's links mean nothing, and the page says so


def test_a_head_where_every_word_looks_at_the_first_token_is_no_link(subject, monkeypatch):
    from tinygrad_tf.tour import capture

    real = capture.encoder_self_attention

    def every_word_on_the_first(subject_, layer):
        parts = real(subject_, layer)
        weights = np.array(parts.weights, copy=True)
        weights[0] = 0.0
        weights[0, :, 0] = 0.9  # head 0: every query puts 0.9 on token 0 and spreads the rest
        weights[0, :, 1:] = 0.1 / (weights.shape[-1] - 1)
        return dataclasses.replace(parts, weights=weights)

    monkeypatch.setattr(capture, "encoder_self_attention", every_word_on_the_first)
    first = subject.src_tokens[0]
    search = tour.head_search(subject, "it", target=first)
    habit = next(m for m in search.ranking if m.head == 0)
    assert habit.weight == pytest.approx(0.9) and habit.baseline == pytest.approx(0.9) and abs(habit.lift) < 1e-6
    assert habit.same_from_every_word
    if search.best is habit:
        assert "did not learn" in search.statement() and "from any word" in search.statement()
    else:
        assert search.ranking.index(habit) > 0  # a head with a word-specific link ranks above it


def test_head_search_names_a_bad_target(subject):
    with pytest.raises(ValueError, match="--target 'zebra' is not a token"):
        tour.head_search(subject, "it", target="zebra")


def test_each_attention_step_links_the_picture_of_its_own_kind_and_names_the_layer_drawn(subject):
    from tinygrad_tf.tour import concepts

    paths = [name for name, _ in subject.model.named_modules()]
    decoder_self = [p for p in paths if p.startswith("decoder") and p.endswith("self_attn")]
    cross = [p for p in paths if p.endswith("cross_attn")]
    encoder_self = [p for p in paths if p.startswith("encoder") and p.endswith("self_attn")]
    assert decoder_self and cross and encoder_self
    for role in ("attention weights", "scores QKᵀ"):
        assert {concepts.picture_of(role, p).file for p in decoder_self} == {"11-causal-mask.png"}
        assert {concepts.picture_of(role, p).file for p in cross} == {"10-cross-attention.png"}
        assert concepts.picture_of(role, encoder_self[0]).file != "11-causal-mask.png"
    for file, (path, _) in concepts.SHOWN.items():
        assert path is None or path in paths  # each picture's layer is one the model has
    find = concepts.concept_finder(None, "page.html")
    assert "this node is in" not in find("attention weights", decoder_self[0])["caption"]  # layer 0: the one drawn
    if len(decoder_self) > 1:
        assert f"this node is in {decoder_self[-1]}" in find("attention weights", decoder_self[-1])["caption"]
    assert "head search picked" in find("attention weights", encoder_self[0])["caption"]


def test_decoding_picture_with_a_large_vocabulary_ranks_words_and_keeps_its_text_readable():
    from tinygrad_tf.tour.data import DecodingStep
    from tinygrad_tf.tour.legibility import fit_text

    rng = np.random.default_rng(0)
    vocab, prefix = 7829, ["<bos>"] + ["probablemente", "no", "lo", "sé", "todavía"] * 3
    steps = []
    for r in range(2):
        logits = rng.normal(size=vocab) * 2.0
        logits[rng.integers(0, 300, 5)] += 9.0  # the likeliest words among the first ids, as in a real vocabulary
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        top = [int(i) for i in np.argsort(-probs)[:5]]
        steps.append(DecodingStep(prefix[: 6 + 5 * r], [f"w{i}" for i in top], probs[top], f"w{top[0]}",
                                  hidden=rng.normal(size=16), logits=logits, probs=probs, top_ids=top))
    fig = tour.draw_decoding(steps)
    fit_text(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    plots = [ax for ax in fig.axes if any(line.get_gid() == "top-word" for line in ax.lines)]
    assert len(plots) == 2 * len(steps)
    for ax in plots:
        marks = [line for line in ax.lines if line.get_gid() == "top-word"]
        xs = [float(line.get_xdata()[0]) for line in marks]
        assert xs == [1, 2, 3, 4, 5]  # drawn at their ranks, not piled up at their ids
        (left, right), (bottom, top) = ax.get_xlim(), ax.get_ylim()
        assert all(left < x < right and bottom < float(m.get_ydata()[0]) < top for x, m in zip(xs, marks))
    lists = [t for t in fig.findobj(lambda o: getattr(o, "get_gid", lambda: None)() == "top-list")]
    assert len(lists) == len(steps)
    for text, step in zip(lists, steps):
        box = text.get_window_extent(renderer)
        assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in plots)  # off the data
        rows = [line.split() for line in text.get_text().splitlines()[1:]]
        probs = [float(row[-1]) for row in rows]
        np.testing.assert_allclose(probs, step.probs[step.top_ids], rtol=5e-3)  # 3 significant figures, no 0.00
        assert all(p > 0 for p in probs)
    for ax in fig.axes:
        title = ax.get_title()
        if "reads:" in title:
            words = title.split("reads: ")[1].split()
            assert all(w in prefix or w == "…" for w in words)  # whole words only
            assert ax.title.get_window_extent(renderer).x0 >= 0  # not spilling past the figure's left edge
