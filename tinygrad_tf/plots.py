"""Pictures with matplotlib (the optional extra `plot`): attention heatmaps, the positional table, training curves.

matplotlib is imported inside the functions and drives the Agg canvas directly
(a `Figure` with a `FigureCanvasAgg`, no pyplot), so nothing here changes the
backend of a notebook or a GUI session that imports this module.

    from tinygrad_tf import load_translator
    from tinygrad_tf.plots import attention_maps, plot_attention, plot_training_curves

    maps = attention_maps(load_translator("runs/spa-eng"), "I like cats.")
    plot_attention(maps, "attention.png")
    plot_training_curves("runs/spa-eng", "curves.png")

Every `plot_*` function returns the path it wrote; the format follows the
file's extension (png, svg, pdf, ...), and the picture is `figsize` inches ×
`dpi` pixels per inch exactly (no tight bounding box). The matching
`*_figure` functions return the matplotlib Figure instead.
"""
import dataclasses
import json
import math
import os

import numpy as np

from autograd import Tensor, no_grad

from . import outputs
from .data import Vocab
from .data.vocab import EOS
from .nn import sinusoid_table

INSTALL_HINT = "plotting needs matplotlib and Pillow: pip install -e .[plot]"

DPI = 100
POSITIONAL_FIGSIZE = (10.0, 5.0)
CURVES_FIGSIZE = (8.0, 9.0)


def require_matplotlib():
    """Import matplotlib (its Agg canvas), or raise a RuntimeError that says how to install it."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError:
        raise RuntimeError(INSTALL_HINT) from None


def _figure(figsize, dpi, layout="constrained"):
    """A Figure on its own Agg canvas (no pyplot, no global backend switch)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path, dpi):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path}: directory {directory} does not exist")
    if not os.path.splitext(path)[1]:
        path = f"{path}.png"  # what savefig writes for a name without an extension: say so
    with outputs.writing(path) as tmp:  # a failed or interrupted drawing leaves an older picture as it was
        fig.savefig(tmp, dpi=dpi)  # the format follows the extension
    return path


# ---- attention --------------------------------------------------------------
@dataclasses.dataclass
class AttentionMaps:
    """Every attention weight of one teacher-forced forward, per layer, as NumPy arrays.

    Rows are queries, columns keys. The decoder's rows are the inputs of its
    decoding steps, `tgt_tokens` = <bos> followed by the output tokens but the
    last (the final <eos> when the translation ended, or a <pad> that an
    untrained model may write and that ends it too): row i is the position
    that predicted `output_tokens[i]`.

    Attributes:
        sentence: the source text; translation: the model's output text.
        src_tokens: source words as written (a word the vocabulary lacks reached the model as <unk>).
        tgt_tokens: decoder input tokens; output_tokens: the token each decoder row predicted.
        src_ids, tgt_ids: the ids fed to the model, (src_len,) and (tgt_len,).
        encoder: per layer (heads, src_len, src_len), encoder self-attention.
        decoder: per layer (heads, tgt_len, tgt_len), masked decoder self-attention.
        cross: per layer (heads, tgt_len, src_len), decoder attention over the encoder output.
        output_words: the translation's words, one per output token before <eos> (an <unk> replaced
            by the source word it was aligned with).
    """

    sentence: str
    translation: str
    src_tokens: list
    tgt_tokens: list
    output_tokens: list
    src_ids: np.ndarray
    tgt_ids: np.ndarray
    encoder: list
    decoder: list
    cross: list
    output_words: list = None

    @property
    def num_layers(self):
        return len(self.encoder), len(self.decoder)

    @property
    def num_heads(self):
        return self.encoder[0].shape[0] if self.encoder else self.decoder[0].shape[0]


def attention_maps(translator, sentence, beam=1, max_len=None):
    """Translate `sentence`, then record every attention weight for that translation.

    The output comes from greedy decoding (or beam search with `beam` > 1);
    then ONE teacher-forced forward of the model on (source, <bos> + output
    tokens but the last), in eval mode without a graph, fills each
    MultiHeadAttention's `.attention_weights`, which are collected per layer.
    Because the decoder is causal, decoder row i holds the weights of the
    decoding step that wrote output token i.

    Args:
        translator: a `decode.Translator` (e.g. from `load_translator`).
        sentence: one raw source sentence.

    Returns:
        an `AttentionMaps`.
    """
    model, device = translator.model, translator.device
    src_tokens = translator.src_tokenizer.split(sentence)
    if not src_tokens:
        raise ValueError(f"attention_maps: the sentence {sentence!r} has no tokens")
    src_ids = np.array([translator.src_vocab.encode_source(src_tokens)], dtype=np.int64)  # (1, src_len + 1)
    was_training = model.training
    model.eval()
    try:
        src = Tensor(src_ids, device=device)
        out, align = translator.decode_ids(src, beam, max_len)
        out, align = [int(t) for t in out[0]], align[0]
        ends = [i for i, t in enumerate(out) if t in (Vocab.eos_id, Vocab.pad_id)]
        out = out[: ends[0] + 1] if ends else out  # the translation ends there (as in Translator)
        words = translator.words(out, align, src_tokens)  # <unk> replaced by the attended source word
        # the inputs of the decoding steps: each row predicts the next output token
        tgt_ids = np.array([[Vocab.bos_id] + out[:-1]], dtype=np.int64)  # (1, tgt_len)
        with no_grad():
            model(src, Tensor(tgt_ids, device=device))
        encoder = [layer.self_attn.attention_weights.numpy()[0] for layer in model.encoder.layers]
        decoder = [layer.self_attn.attention_weights.numpy()[0] for layer in model.decoder.layers]
        cross = [layer.cross_attn.attention_weights.numpy()[0] for layer in model.decoder.layers]
    finally:
        model.train(was_training)
    itos = translator.tgt_vocab.itos
    tgt_tokens, output_tokens = [itos[i] for i in tgt_ids[0]], [itos[i] for i in out]
    return AttentionMaps(sentence, translator.tgt_tokenizer.join(words), src_tokens + [EOS], tgt_tokens, output_tokens,
                         src_ids[0], tgt_ids[0], encoder, decoder, cross, words)


MAX_LABEL = 12  # longer tokens are cut on the axes


def _cut(token):
    return token if len(token) <= MAX_LABEL else token[: MAX_LABEL - 1] + "…"


def decoder_row_labels(maps):
    """A label per decoder row: its input token and the token it predicted, "<bos> → i"."""
    return [f"{_cut(i)} → {_cut(o)}" for i, o in zip(maps.tgt_tokens, maps.output_tokens)]


def _attention_layout(maps):
    """Inches of the attention grid: cell (one heatmap), labels (tick labels and axis label), title, gaps."""
    longest = max(len(maps.src_tokens), len(maps.tgt_tokens))
    fontsize = 8 if longest <= 14 else 6
    chars = max(len(t) for t in [_cut(t) for t in maps.src_tokens + maps.tgt_tokens] + decoder_row_labels(maps))
    layout = dict(fontsize=fontsize, cell=min(5.5, max(2.2, 0.8 + 0.2 * longest)),
                  labels=0.6 + 0.075 * fontsize / 8 * chars, title=0.3, gap=0.15, bar=1.0, top=0.5)
    rows = len(maps.encoder) + 2 * len(maps.decoder)
    heads = maps.num_heads
    width = layout["labels"] + heads * layout["cell"] + (heads - 1) * layout["gap"] + layout["bar"]
    height = layout["top"] + rows * (layout["title"] + layout["cell"] + layout["labels"])
    # whole half inches (exact in binary), so the picture is exactly size × dpi pixels
    layout["size"] = (math.ceil(2 * width) / 2, math.ceil(2 * height) / 2)
    return layout


def attention_figsize(maps):
    """(width, height) in inches of `plot_attention`'s grid: heads across, one row per layer and kind."""
    return _attention_layout(maps)["size"]


def plot_attention(maps, path, figsize=None, dpi=DPI, cmap="viridis"):
    """Heatmaps of every head of every layer: encoder self-, decoder masked self- and cross-attention.

    One row per (kind, layer), one column per head; queries down, keys across,
    the tokens on both axes (a decoder row reads "input → predicted": the
    token it was fed and the token it wrote); one colour scale from 0 to 1 for all.

    Args:
        maps: an `AttentionMaps` from `attention_maps`.
        path: output file; the format follows the extension (png, svg, pdf).
        figsize: (width, height) in inches; default `attention_figsize(maps)`.

    Returns:
        path.
    """
    return _save(attention_figure(maps, figsize, dpi, cmap), path, dpi)


def attention_figure(maps, figsize=None, dpi=DPI, cmap="viridis"):
    """The matplotlib Figure that `plot_attention` saves (to show in a notebook or restyle).

    The axes are placed by hand (no layout engine, which would draw the many
    tick labels twice); a `figsize` other than the default scales the layout.
    """
    layout = _attention_layout(maps)
    width, height = layout["size"]
    fig = _figure(figsize or layout["size"], dpi, layout=None)
    src, tgt, steps = [_cut(t) for t in maps.src_tokens], [_cut(t) for t in maps.tgt_tokens], decoder_row_labels(maps)
    kinds = [("encoder", maps.encoder, src, src), ("decoder self", maps.decoder, steps, tgt), ("cross", maps.cross, steps, src)]
    rows = [(kind, layer, w, q, k) for kind, layers, q, k in kinds for layer, w in enumerate(layers)]
    cell, labels, title, gap, fontsize = (layout[k] for k in ("cell", "labels", "title", "gap", "fontsize"))
    image = None
    for r, (kind, layer, weights, queries, keys) in enumerate(rows):
        bottom = height - layout["top"] - (r + 1) * (title + cell + labels) + labels
        for h in range(maps.num_heads):
            left = labels + h * (cell + gap)
            ax = fig.add_axes([left / width, bottom / height, cell / width, cell / height])
            image = ax.imshow(weights[h], cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
            ax.set_title(f"{kind} layer {layer} head {h}", fontsize=9)
            ax.set_xticks(range(len(keys)), keys, rotation=90, fontsize=fontsize)
            if h == 0:
                ax.set_yticks(range(len(queries)), queries, fontsize=fontsize)
                ax.set_ylabel("query: " + ("source" if kind == "encoder" else "decoder input → predicted"), fontsize=8)
                ax.set_xlabel("key: " + ("decoder input" if kind == "decoder self" else "source"), fontsize=8)
            else:
                ax.set_yticks([])
            ax.tick_params(length=0)
    bar_height = min(4.0, height - layout["top"] - labels)
    bar = fig.add_axes([(width - layout["bar"] + 0.2) / width, (height - layout["top"] - title - bar_height) / height,
                        0.15 / width, bar_height / height])
    fig.colorbar(image, cax=bar, label="attention weight")
    fig.suptitle(f"{maps.sentence}  →  {maps.translation}", fontsize=11, y=1 - 0.15 / height, va="top")
    return fig


# ---- positional encoding ------------------------------------------------------
def plot_positional_encoding(path, max_len=50, d_model=128, figsize=POSITIONAL_FIGSIZE, dpi=DPI, cmap="RdBu_r"):
    """The sinusoid table of `nn.sinusoid_table` as a heatmap: positions down, dimensions across.

    Returns:
        path.
    """
    return _save(positional_encoding_figure(max_len, d_model, figsize, dpi, cmap), path, dpi)


def positional_encoding_figure(max_len=50, d_model=128, figsize=POSITIONAL_FIGSIZE, dpi=DPI, cmap="RdBu_r"):
    """The matplotlib Figure that `plot_positional_encoding` saves."""
    if max_len < 1 or d_model < 1:
        raise ValueError(f"plot_positional_encoding: max_len and d_model must be positive, got {max_len} and {d_model}")
    table = sinusoid_table(max_len, d_model)  # (max_len, d_model)
    fig = _figure(figsize, dpi)
    ax = fig.subplots()
    image = ax.imshow(table, cmap=cmap, vmin=-1.0, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.set_xlabel("dimension (even: sin, odd: cos)")
    ax.set_ylabel("position")
    ax.set_title(f"sinusoidal positional encoding (max_len={max_len}, d_model={d_model})")
    fig.colorbar(image, ax=ax, label="value")
    return fig


# ---- training curves ---------------------------------------------------------------
def read_log(run_dir):
    """The training evaluation records of `run_dir/log.jsonl`, one per step, sorted by step.

    Records of `tinygrad-tf evaluate` ("event": "evaluate") are left out.

    When a step appears more than once (a run restarted into the same
    directory) the later record wins. Raises FileNotFoundError when the
    directory or the log is missing and ValueError when it holds no records
    or a line is not a JSON object with a step.
    """
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    path = os.path.join(run_dir, "log.jsonl")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no training log {path} (a run writes it at its first evaluation)")
    records = {}
    with open(path, "rb") as f:  # bytes: a line that is not UTF-8 is reported with its number, like any bad line
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)  # UnicodeDecodeError is a ValueError
                step = int(record["step"])
            except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
                raise ValueError(f"{path}, line {number}: not a JSON record with a step") from None
            if record.get("event", "train") == "train":  # `evaluate` appends its own records, not training's
                records[step] = record
    if not records:
        raise ValueError(f"{path} has no records")
    return [records[s] for s in sorted(records)]


def _column(records, key):
    values = []
    for r in records:
        v = r.get(key)
        finite = isinstance(v, (int, float)) and math.isfinite(v)  # a nan or inf written into the log is not drawn
        values.append(float(v) if finite else math.nan)
    return np.array(values)


def plot_training_curves(run_dir, path, figsize=CURVES_FIGSIZE, dpi=DPI):
    """Loss (train and valid), validation BLEU and learning rate against step, from `run_dir/log.jsonl`.

    Returns:
        path.
    """
    return _save(training_curves_figure(run_dir, figsize, dpi), path, dpi)


def training_curves_figure(run_dir, figsize=CURVES_FIGSIZE, dpi=DPI):
    """The matplotlib Figure that `plot_training_curves` saves: three panels sharing the step axis."""
    records = read_log(run_dir)
    steps = _column(records, "step")
    fig = _figure(figsize, dpi)
    loss_ax, bleu_ax, lr_ax = fig.subplots(3, 1, sharex=True)
    style = dict(marker="o", markersize=3, linewidth=1.5)
    loss_ax.plot(steps, _column(records, "train_loss"), label="train", **style)
    loss_ax.plot(steps, _column(records, "valid_loss"), label="valid", **style)
    loss_ax.set_ylabel("loss (per token)")
    loss_ax.legend()
    bleu = _column(records, "valid_bleu")
    bleu_ax.plot(steps, bleu, color="tab:green", **style)
    bleu_ax.set_ylabel("validation BLEU")
    if np.isfinite(bleu).any():  # from 0: a flat 0.00 at the start of a run reads as "nothing yet"
        bleu_ax.set_ylim(0.0, max(1.0, 1.1 * float(np.nanmax(bleu))))
    lr_ax.plot(steps, _column(records, "lr"), color="tab:purple", **style)
    lr_ax.set_ylabel("learning rate")
    lr_ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    lr_ax.set_xlabel("step")
    for ax in (loss_ax, bleu_ax, lr_ax):
        ax.grid(True, alpha=0.3)
    name = os.path.basename(os.path.abspath(run_dir))
    fig.suptitle(f"{name}: step {int(steps[-1])}, valid loss {_column(records, 'valid_loss')[-1]:.3f}, "
                 f"valid BLEU {_column(records, 'valid_bleu')[-1]:.2f}")
    return fig
