"""Pictures 01 (embeddings), 02 (the stacks), 08 (positional encoding), 09 (residual and layer norm)."""
import math

import numpy as np

from .draw_common import cut, figure, heatmap


def _title(fig, text, note):
    fig.suptitle(text + (f"\n{note}" if note else ""), fontsize=12)


def draw_embeddings(data, note=""):
    """01: each token a row of coloured numbers, through ×√d_model and + positional encoding."""
    n, d = data.embedded.shape
    fig = figure((16.0, 1.8 + 0.32 * n))
    axes = fig.subplots(1, 4)
    pe = data.positioned - data.scaled
    panels = [(data.embedded, f"1. embedding E[token]\n(one learned row per word, {d} numbers)"),
              (data.scaled, f"2. × √d_model = × {math.sqrt(d):.2f}"),
              (pe, "3. positional encoding PE[position]\n(the same for any word at that position)"),
              (data.positioned, "4. = E·√d_model + PE:\nwhat the first encoder layer reads")]
    for i, (ax, (values, title)) in enumerate(zip(axes, panels)):
        image = heatmap(ax, values, title, rows=[f"{p}: {t}" for p, t in enumerate(data.tokens)] if i == 0 else None)
        ax.set_xlabel("dimension", fontsize=8)
        fig.colorbar(image, ax=ax, shrink=0.7, location="bottom").ax.tick_params(labelsize=7)
    _title(fig, f"Embeddings: {n} source tokens as rows of {d} numbers (colour = value; each panel its own scale)", note)
    return fig


def _box(ax, x, y, w, h, text, color, fontsize=8):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=color, edgecolor="#444444", linewidth=0.8))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, color="#333333", style="-|>", rad=0.0):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle=style, color=color, linewidth=1.1, connectionstyle=f"arc3,rad={rad}"))


SUBLAYER_COLORS = {"MultiHeadAttention": "#f6d49a", "LayerNorm": "#e8e8a0", "FeedForward": "#a9d7f0"}


def _sublayer_text(name, kind, path, data):
    if name == "self_attn":
        words = "masked multi-head self-attention" if path.startswith("decoder") else "multi-head self-attention"
        return f"{words} ({data.num_heads} heads)\n{path}"
    if name == "cross_attn":
        return f"multi-head cross-attention over the encoder output\n{path}"
    if name == "feed_forward":
        return f"feed-forward {data.d_model} → {data.d_ff} → {data.d_model}\n{path}"
    return f"add & {'norm (pre-norm)' if data.norm_first else 'norm'}\n{path}"


def _stack(ax, x, y, layers, data, label):
    """Draw a stack of layers from y upwards; returns ([(top y, cross-attention box centre) per layer], top y)."""
    box_w, box_h, gap, pad = 3.4, 0.62, 0.16, 0.18
    spots = []
    for index, sublayers in enumerate(layers):
        height = len(sublayers) * (box_h + gap) - gap + 2 * pad
        from matplotlib.patches import Rectangle

        ax.add_patch(Rectangle((x - pad, y), box_w + 2 * pad, height, facecolor="#f3f3f3", edgecolor="#888888",
                               linewidth=1.0, linestyle="--"))
        side = x - pad - 0.1 if label == "encoder" else x + box_w + pad + 0.1
        ax.text(side, y + height / 2, f"{label} layer {index}", rotation=90, ha="right" if label == "encoder" else "left",
                va="center", fontsize=9)
        cross = None
        for k, (name, kind, path) in enumerate(sublayers):
            by = y + pad + k * (box_h + gap)
            _box(ax, x, by, box_w, box_h, _sublayer_text(name, kind, path, data), SUBLAYER_COLORS.get(kind, "#dddddd"), 7)
            if k:
                _arrow(ax, (x + box_w / 2, by - gap), (x + box_w / 2, by))
            if name == "cross_attn":
                cross = (x, by + box_h / 2)
            if kind == "LayerNorm" and k:  # the residual: the sublayer's input skips around it into add & norm
                start = by - gap - box_h - gap / 2
                _arrow(ax, (x + box_w - 0.25, start), (x + box_w - 0.1, by + 0.1), color="tab:gray", rad=0.45)
        spots.append(cross)
        y += height
        _arrow(ax, (x + box_w / 2, y), (x + box_w / 2, y + 0.3))
        y += 0.3
    return spots, y


def draw_stacks(data, note=""):
    """02: the encoder and decoder stacks drawn from the model's modules, data flowing upwards."""
    # one unit is one inch: 0.78 per sublayer box, 0.66 around each layer, inputs below, generator above
    used = 2.0 + max(3.62 * len(data.encoder_layers), 5.18 * len(data.decoder_layers) + 0.6) + 0.4
    fig = figure((12.0, math.ceil(2 * (used + 0.9)) / 2), layout=None)
    height = fig.get_figheight()
    ax = fig.add_axes([0, 0, 1, used / height])
    ax.set_xlim(0, 12)
    ax.set_ylim(0, used)
    ax.axis("off")
    ex, dx = 1.3, 7.0
    shape_src, shape_tgt = f"(1, {len(data.src_tokens)}, {data.d_model})", f"(1, {len(data.tgt_tokens)}, {data.d_model})"
    _box(ax, ex, 0.2, 3.4, 0.6, "source tokens\n" + " ".join(cut(data.src_tokens))[:60], "#ffffff", 7)
    _box(ax, dx, 0.2, 3.4, 0.6, "output so far, shifted right\n" + " ".join(cut(data.tgt_tokens))[:60], "#ffffff", 7)
    _box(ax, ex, 1.1, 3.4, 0.6, f"src_embed × √{data.d_model} + positional\n→ {shape_src}", "#d9c8ef", 7)
    _box(ax, dx, 1.1, 3.4, 0.6, f"tgt_embed × √{data.d_model} + positional\n→ {shape_tgt}", "#d9c8ef", 7)
    for x in (ex, dx):
        _arrow(ax, (x + 1.7, 0.8), (x + 1.7, 1.1))
        _arrow(ax, (x + 1.7, 1.7), (x + 1.7, 2.0))
    spots, enc_top = _stack(ax, ex, 2.0, data.encoder_layers, data, "encoder")
    spots, dec_top = _stack(ax, dx, 2.0, data.decoder_layers, data, "decoder")
    ax.text(ex + 1.7, enc_top + 0.1, f"encoder output (memory) {shape_src}", ha="center", va="bottom", fontsize=8,
            fontweight="bold")
    for cross in spots:  # the memory is the K and V of every decoder layer's cross-attention
        _arrow(ax, (ex + 3.4 + 0.2, enc_top - 0.1), (cross[0], cross[1]), color="tab:red", rad=0.15)
    ax.text(5.85, enc_top - 0.4, "memory → K, V of\nevery cross-attention", color="tab:red", fontsize=8, ha="center")
    _box(ax, dx, dec_top, 3.4, 0.6, f"generator: Linear {data.d_model} → {data.tgt_vocab}\nthen softmax: next-token probabilities",
         "#c7e9c0", 7)
    _title(fig, f"The stacks: {len(data.encoder_layers)} encoder and {len(data.decoder_layers)} decoder layers, "
                f"d_model={data.d_model}, {data.num_heads} heads, d_ff={data.d_ff} (boxes are the model's modules)", note)
    return fig


def draw_positional(data, note=""):
    """08: the sinusoid table as the model adds it (sin/cos interleaved) and as sin half | cos half."""
    positions, d = data.table.shape
    fig = figure((15.0, 5.5))
    left, right = fig.subplots(1, 2)
    for ax, values, title in ((left, data.table, "as the model adds it: column 2i = sin, column 2i+1 = cos"),
                              (right, data.halves, "the explainer's layout: all sin columns | all cos columns")):
        image = heatmap(ax, values, title, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_yticks(range(positions), [str(p) for p in range(positions)], fontsize=7)
        ax.set_ylabel("position in the sentence", fontsize=9)
        ax.set_xlabel("dimension", fontsize=9)
    right.axvline(d / 2 - 0.5, color="black", linewidth=1.5)
    right.set_xlabel(f"sin(pos / 10000^(2i/d)), i = 0..{d // 2 - 1}   |   cos(pos / 10000^(2i/d)), same i", fontsize=9)
    fig.colorbar(image, ax=[left, right], shrink=0.8, label="value")
    _title(fig, f"Positional encoding: {positions} positions × {d} dimensions; "
                "fast waves on the left, slow on the right, every row different", note)
    return fig


def draw_residual_norm(data, note=""):
    """09: one sublayer's input, output, their sum and the layer-normalised result, per token."""
    n = len(data.tokens)
    fig = figure((17.0, 3.2 + 0.45 * n))
    grid = fig.add_gridspec(2, len(data.steps), height_ratios=[n, 4])
    for i, (label, values) in enumerate(data.steps):
        ax = fig.add_subplot(grid[0, i])
        image = heatmap(ax, values, f"{label}\n{values.shape}", rows=data.tokens if i == 0 else None)
        fig.colorbar(image, ax=ax, shrink=0.7).ax.tick_params(labelsize=7)
        stats = fig.add_subplot(grid[1, i])
        mean, std = values.mean(axis=1), values.std(axis=1)
        stats.plot(range(n), mean, "o-", markersize=3, label="mean")
        stats.plot(range(n), std, "s-", markersize=3, label="std")
        stats.set_xticks(range(n), cut(data.tokens), rotation=90, fontsize=7)
        stats.tick_params(axis="y", labelsize=7)
        stats.grid(True, alpha=0.3)
        stats.set_title("per token: mean and std over d_model", fontsize=8)
        if i == 0:
            stats.legend(fontsize=7)
    kind = "pre-norm: x + Sublayer(LayerNorm(x))" if data.norm_first else "post-norm: LayerNorm(x + Sublayer(x))"
    _title(fig, f"Residual connection and layer norm, encoder layer {data.layer} ({kind}); "
                "the norm puts each token's row at mean 0, std 1 (then ×γ + β)", note)
    return fig
