"""Pictures (tinygrad_tf.plots, the `plot` extra): attention maps and heatmaps, positional table, training curves, CLI."""
import json
import os
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

from autograd import Tensor, manual_seed, no_grad  # noqa: E402
from helpers import assert_clean_error, run_cli  # noqa: E402
from tinygrad_tf import TrainConfig, Trainer, load_translator, nn, plots  # noqa: E402
from tinygrad_tf.data import Vocab  # noqa: E402
from tinygrad_tf.decode import Translator, beam_search, greedy_decode  # noqa: E402

WORDS = "the cat dog sees a big small house".split()


# ---- helpers and fixtures --------------------------------------------------------
def _check_png(path, size):
    """A PNG of exactly `size` (width, height) pixels that is not blank."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        pixels = np.asarray(image.convert("RGB")).astype(np.int64)
    assert pixels.var() > 0
    colours = np.unique((pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2])
    assert len(colours) > 20, f"{path}: only {len(colours)} colours"


def _pixels(figsize, dpi):
    return round(figsize[0] * dpi), round(figsize[1] * dpi)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A real tiny run of the copy task: 20 steps, evaluations at 10 and 20."""
    out = str(tmp_path_factory.mktemp("plots") / "copy")
    config = TrainConfig.for_task("copy", steps=20, eval_every=10, d_model=16, heads=2, layers=1, d_ff=32, bleu_sentences=10)
    Trainer(config, out=out, log=lambda *a: None).fit(progress=False)
    return out


@pytest.fixture(scope="module")
def translator():
    """Random weights, two layers of two heads, dropout on (so eval mode matters)."""
    manual_seed(7)
    vocab = Vocab(WORDS)
    model = nn.Transformer(len(vocab), len(vocab), d_model=16, num_heads=2, num_encoder_layers=2,
                           num_decoder_layers=2, d_ff=32, dropout=0.3, max_len=64, pad_id=Vocab.pad_id)
    return Translator(model, vocab, vocab)


@pytest.fixture
def synthetic_run(tmp_path):
    records = [dict(step=s, epoch=0, train_loss=4.0 / s ** 0.5, valid_loss=4.2 / s ** 0.5, valid_bleu=min(60.0, s / 10),
                    lr=1e-3 * min(s / 200, (200 / s) ** 0.5), tokens_per_s=1000.0, time=1.0e9 + s)
               for s in range(50, 1001, 50)]
    with open(tmp_path / "log.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
        f.write("\n")  # a blank line at the end is fine
    return str(tmp_path), records


# ---- attention maps ------------------------------------------------------------------
def test_attention_maps_shapes_tokens_and_masks(translator):
    maps = plots.attention_maps(translator, "the cat sees a house")
    src_len, tgt_len = len(maps.src_tokens), len(maps.tgt_tokens)
    assert maps.src_tokens == ["the", "cat", "sees", "a", "house", "<eos>"]  # the encoder reads an end marker too
    assert maps.tgt_tokens[0] == "<bos>" and maps.tgt_tokens[1:] == maps.output_tokens[:-1]
    assert len(maps.output_tokens) == tgt_len == len(maps.tgt_ids)
    assert [w.shape for w in maps.encoder] == [(2, src_len, src_len)] * 2
    assert [w.shape for w in maps.decoder] == [(2, tgt_len, tgt_len)] * 2
    assert [w.shape for w in maps.cross] == [(2, tgt_len, src_len)] * 2
    for weights in maps.decoder:
        assert np.all(np.triu(weights, k=1) == 0.0)  # masked: exactly zero above the diagonal
        assert np.all(np.diagonal(weights, axis1=-2, axis2=-1) > 0)
    for weights in maps.encoder + maps.decoder + maps.cross:
        assert np.all(weights >= 0)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)


def test_attention_maps_equal_a_separate_forward_and_the_decoding(translator):
    model = translator.model
    model.train()  # attention_maps must switch to eval (dropout is 0.3) and switch back
    sentence = "a big dog sees the small cat"
    maps = plots.attention_maps(translator, sentence)
    assert model.training
    model.eval()
    src = Tensor(maps.src_ids[None])
    out, _ = greedy_decode(model, src)
    out = list(out[0])
    ends = [i for i, t in enumerate(out) if t in (Vocab.eos_id, Vocab.pad_id)]
    out = out[: ends[0] + 1] if ends else out
    assert list(maps.tgt_ids) == [Vocab.bos_id] + out[:-1]
    assert maps.output_tokens == [translator.tgt_vocab.itos[i] for i in out]
    assert maps.translation == translator.translate([sentence])[0]
    with no_grad():
        model(src, Tensor(maps.tgt_ids[None]))
    for i, layer in enumerate(model.encoder.layers):
        np.testing.assert_array_equal(maps.encoder[i], layer.self_attn.attention_weights.numpy()[0])
    for i, layer in enumerate(model.decoder.layers):
        np.testing.assert_array_equal(maps.decoder[i], layer.self_attn.attention_weights.numpy()[0])
        np.testing.assert_array_equal(maps.cross[i], layer.cross_attn.attention_weights.numpy()[0])


def test_attention_maps_unknown_words_beam_and_empty(translator):
    maps = plots.attention_maps(translator, "the zebra sees")
    assert maps.src_tokens == ["the", "zebra", "sees", "<eos>"]  # labelled as written ...
    assert maps.src_ids[1] == Vocab.unk_id  # ... though the model saw <unk>
    beamed = plots.attention_maps(translator, "the cat sees a house", beam=3)
    best, _ = beam_search(translator.model, Tensor(beamed.src_ids[None]), beam=3)
    assert beamed.output_tokens == [translator.tgt_vocab.itos[i] for i in best]
    with pytest.raises(ValueError, match="no tokens"):
        plots.attention_maps(translator, "   ")


def test_plot_attention_png_size_titles_and_ticks(translator, tmp_path):
    maps = plots.attention_maps(translator, "the cat sees a house")
    path = plots.plot_attention(maps, str(tmp_path / "attention.png"))
    _check_png(path, _pixels(plots.attention_figsize(maps), plots.DPI))
    small = plots.plot_attention(maps, str(tmp_path / "small.png"), figsize=(8, 9), dpi=50)
    _check_png(small, (400, 450))

    fig = plots.attention_figure(maps)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    expected = [f"{kind} layer {layer} head {head}" for kind in ("encoder", "decoder self", "cross")
                for layer in range(2) for head in range(2)]
    assert titles == expected
    by_title = {ax.get_title(): ax for ax in fig.axes}
    labels = lambda ticks: [t.get_text() for t in ticks]  # noqa: E731
    cross = by_title["cross layer 1 head 0"]
    assert labels(cross.get_xticklabels()) == maps.src_tokens
    # each decoder row names its input token and the token it predicted
    rows = [f"{i} → {o}" for i, o in zip(maps.tgt_tokens, maps.output_tokens)]
    assert labels(cross.get_yticklabels()) == rows
    np.testing.assert_array_equal(cross.images[0].get_array(), maps.cross[1][0])
    decoder = by_title["decoder self layer 0 head 1"]
    assert labels(decoder.get_xticklabels()) == maps.tgt_tokens
    assert labels(by_title["decoder self layer 0 head 0"].get_yticklabels()) == rows


def test_plot_attention_other_formats(translator, tmp_path):
    maps = plots.attention_maps(translator, "a dog")
    svg = plots.plot_attention(maps, str(tmp_path / "attention.svg"))
    with open(svg, encoding="utf-8") as f:
        assert "<svg" in f.read(2000)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plots.plot_attention(maps, str(tmp_path / "missing" / "attention.png"))


# ---- positional encoding ----------------------------------------------------------
def test_plot_positional_encoding(tmp_path):
    path = plots.plot_positional_encoding(str(tmp_path / "pe.png"))
    _check_png(path, _pixels(plots.POSITIONAL_FIGSIZE, plots.DPI))
    fig = plots.positional_encoding_figure(max_len=20, d_model=16)
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), nn.sinusoid_table(20, 16))
    with pytest.raises(ValueError, match="positive"):
        plots.plot_positional_encoding(str(tmp_path / "bad.png"), max_len=0)


# ---- training curves --------------------------------------------------------------
def test_training_curves_from_a_synthetic_log(synthetic_run, tmp_path):
    run, records = synthetic_run
    path = plots.plot_training_curves(run, str(tmp_path / "curves.png"))
    _check_png(path, _pixels(plots.CURVES_FIGSIZE, plots.DPI))
    loss_ax, bleu_ax, lr_ax = plots.training_curves_figure(run).axes
    steps = [r["step"] for r in records]
    train, valid = loss_ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), steps)
    np.testing.assert_allclose(train.get_ydata(), [r["train_loss"] for r in records])
    np.testing.assert_allclose(valid.get_ydata(), [r["valid_loss"] for r in records])
    np.testing.assert_allclose(bleu_ax.get_lines()[0].get_ydata(), [r["valid_bleu"] for r in records])
    np.testing.assert_allclose(lr_ax.get_lines()[0].get_ydata(), [r["lr"] for r in records])
    assert lr_ax.get_xlabel() == "step"


def test_training_curves_from_a_real_run(run_dir, tmp_path):
    assert [r["step"] for r in plots.read_log(run_dir)] == [10, 20]
    path = plots.plot_training_curves(run_dir, str(tmp_path / "curves.png"), figsize=(6, 7), dpi=80)
    _check_png(path, (480, 560))


def test_read_log_keeps_the_later_record_of_a_repeated_step(tmp_path):
    lines = [dict(step=20, train_loss=2.0), dict(step=10, train_loss=3.0), dict(step=20, train_loss=1.5)]
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    assert plots.read_log(str(tmp_path)) == [dict(step=10, train_loss=3.0), dict(step=20, train_loss=1.5)]


def test_training_curves_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        plots.plot_training_curves(str(tmp_path / "nope"), str(tmp_path / "c.png"))
    log = os.path.join(str(tmp_path), "log.jsonl")
    with pytest.raises(FileNotFoundError) as missing:
        plots.plot_training_curves(str(tmp_path), str(tmp_path / "c.png"))
    assert log in str(missing.value)
    (tmp_path / "log.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError) as empty:
        plots.plot_training_curves(str(tmp_path), str(tmp_path / "c.png"))
    assert log in str(empty.value) and "no records" in str(empty.value)
    (tmp_path / "log.jsonl").write_text('{"step": 1}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        plots.read_log(str(tmp_path))
    assert not (tmp_path / "c.png").exists()


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    with pytest.raises(RuntimeError, match=r"pip install -e \.\[plot\]"):
        plots.require_matplotlib()
    with pytest.raises(RuntimeError, match=r"pip install -e \.\[plot\]"):
        plots.positional_encoding_figure()


# ---- CLI -----------------------------------------------------------------------------------
def test_cli_plot_curves_and_positional(run_dir, tmp_path):
    out = str(tmp_path / "curves.png")
    result = run_cli("plot", run_dir, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    _check_png(out, _pixels(plots.CURVES_FIGSIZE, plots.DPI))
    pe = str(tmp_path / "pe.png")
    result = run_cli("plot", "--positional", "--out", pe, "--max-len", "30", "--d-model", "64", "--dpi", "50")
    assert result.exit_code == 0, result.output
    _check_png(pe, _pixels(plots.POSITIONAL_FIGSIZE, 50))


def test_cli_plot_errors(run_dir, tmp_path):
    out = str(tmp_path / "c.png")
    assert_clean_error(run_cli("plot", str(tmp_path / "missing"), "--out", out), "does not exist", "missing")
    assert_clean_error(run_cli("plot", str(tmp_path), "--out", out), "log.jsonl")
    (tmp_path / "log.jsonl").write_text("", encoding="utf-8")
    assert_clean_error(run_cli("plot", str(tmp_path), "--out", out), "no records")
    assert_clean_error(run_cli("plot", "--out", out), "RUN_DIR", "--positional")
    assert_clean_error(run_cli("plot", run_dir, "--positional", "--out", out), "not both")
    assert_clean_error(run_cli("plot", run_dir, "--out", str(tmp_path / "no" / "c.png")), "does not exist")
    assert_clean_error(run_cli("plot", run_dir, "--out", str(tmp_path / "c.nosuchformat")), "nosuchformat")
    assert not os.path.exists(out)


def test_cli_translate_attention_plot(run_dir, tmp_path):
    one = str(tmp_path / "one.png")
    result = run_cli("translate", "--checkpoint", run_dir, "1 2 3", "--attention-plot", one)
    assert result.exit_code == 0, result.output
    expected = load_translator(run_dir).translate(["1 2 3"])[0]
    assert result.output.splitlines()[0] == expected
    assert f"attention plot: {one}" in result.output
    maps = plots.attention_maps(load_translator(run_dir), "1 2 3")
    _check_png(one, _pixels(plots.attention_figsize(maps), plots.DPI))

    many = str(tmp_path / "many.png")
    result = run_cli("translate", "--checkpoint", run_dir, "--attention-plot", many, input="1 2 3\n4 5 6 7\n")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path)) == ["many-1.png", "many-2.png", "one.png"]
    with Image.open(tmp_path / "many-2.png") as image:
        assert image.format == "PNG"


def test_cli_translate_attention_plot_errors(run_dir, tmp_path, monkeypatch):
    assert_clean_error(run_cli("translate", "--checkpoint", run_dir, "1 2", "--attention-plot", str(tmp_path / "no" / "a.png")),
                       "does not exist")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run_cli("translate", "--checkpoint", run_dir, "1 2", "--attention-plot", str(tmp_path / "a.png"))
    assert_clean_error(result, "pip install -e .[plot]")
    assert result.output.splitlines()[0].startswith("Error")  # refused before translating anything
    assert_clean_error(run_cli("plot", "--positional", "--out", str(tmp_path / "pe.png")), "pip install -e .[plot]")
