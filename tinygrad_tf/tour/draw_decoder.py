"""Pictures 10 (cross-attention), 11 (the causal mask) and 12 (greedy decoding)."""
import math

import numpy as np

from .draw_basics import _title
from .draw_common import CELL_GID, cut, figure, heatmap


def draw_cross_attention(data, note=""):
    """10: the encoder output becomes K and V; the decoder's states give Q; the weights tie them."""
    p, h = data.parts, data.head
    n, m = len(data.queries), len(data.keys)
    fig = figure((19.0, 4.0 + 0.38 * max(n, m)))
    axes = fig.subplots(1, 5, gridspec_kw=dict(width_ratios=[1.5, 0.8, 0.8, 0.8, 3.2]))  # room for the weights
    heatmap(axes[0], p.x_key, f"encoder output (memory) {p.x_key.shape}", rows=data.keys)
    heatmap(axes[1], p.k[h], f"K = memory·W_K\nhead {h} {p.k[h].shape}", rows=data.keys)
    heatmap(axes[2], p.v[h], f"V = memory·W_V\nhead {h} {p.v[h].shape}", rows=data.keys)
    heatmap(axes[3], p.q[h], f"Q from the decoder\n{p.q[h].shape}", rows=data.queries)
    heatmap(axes[4], p.weights[h], f"weights softmax(Q Kᵀ/√{p.d_k})\n{p.weights[h].shape}: rows decoder, columns source",
            rows=data.queries, cols=data.keys, cmap="viridis", vmin=0, vmax=float(p.weights.max()), annotate=max(n, m) <= 16, fmt="{:.2f}")
    axes[4].set_xlabel("key: source token", fontsize=9)
    axes[4].set_ylabel("query: decoder input → predicted word", fontsize=9)
    axes[3].set_ylabel("query: decoder input → predicted word", fontsize=9)
    _title(fig, f"Cross-attention (decoder layer {data.layer}, head {h}): each decoder position reads the source "
                "through K and V made from the encoder output", note)
    return fig


def draw_causal_mask(data, note=""):
    """11: the causal mask, scores before and after −inf, and the weights (each row sums to 1 over the past)."""
    p, h = data.parts, data.head
    tokens, keys, n = data.queries, data.keys, len(data.queries)
    annotate = n <= 16
    fig = figure((20.0, 3.0 + 0.42 * n))
    axes = fig.subplots(1, 4)
    heatmap(axes[0], p.mask.astype(float), "mask: True (dark) = may attend\n(itself and earlier positions)",
            rows=tokens, cols=keys, cmap="Greys", vmin=0, vmax=1.4)
    for (r, c), allowed in np.ndenumerate(p.mask):
        axes[0].text(c, r, "T" if allowed else "F", ha="center", va="center", fontsize=7,
                     color="white" if allowed else "black", gid=CELL_GID)
    heatmap(axes[1], p.scaled[h], f"scores Q Kᵀ / √{p.d_k} before masking", rows=tokens, cols=keys,
            annotate=annotate, fmt="{:.1f}")
    masked = p.masked[h]
    heatmap(axes[2], masked, "after masking: −∞ above the diagonal", rows=tokens, cols=keys, annotate=annotate,
            fmt="{:.1f}")
    axes[2].imshow(np.where(np.isfinite(masked), np.nan, 1.0), cmap="Greys", vmin=0, vmax=4, aspect="auto",
                   interpolation="nearest")
    if annotate:
        for r, c in zip(*np.nonzero(~np.isfinite(masked))):
            axes[2].text(c, r, "−∞", ha="center", va="center", fontsize=6, gid=CELL_GID)
    heatmap(axes[3], p.weights[h], "softmax: weights (0 on the future)", rows=tokens, cols=keys, cmap="viridis",
            vmin=0, vmax=1, annotate=annotate, fmt="{:.2f}")
    for ax in axes:
        ax.set_xlabel("key: decoder input", fontsize=9)
    axes[0].set_ylabel("query: decoder input → predicted word", fontsize=9)
    _title(fig, f"The causal mask (decoder self-attention, layer {data.layer}, head {h}): "
                "a position may not look at the words after it", note)
    return fig


ROW_TITLE_CHARS = 32  # the longest "step N reads: ..." above a row that stays over its column (whole words kept)


def significant(value, digits=3):
    """`value` to `digits` significant figures: a probability of 0.0023 stays 0.00230, not 0.00."""
    return f"{value:#.{digits}g}".rstrip(".") if np.isfinite(value) else str(value)


def last_words(tokens, limit):
    """The latest of `tokens` that fit in `limit` characters, whole words only, with "… " where some were left."""
    kept, length = [], 0
    for token in reversed(cut(tokens)):
        if kept and length + 1 + len(token) > limit:
            return "… " + " ".join(reversed(kept))
        kept.append(token)
        length += len(token) + (1 if length else 0)
    return " ".join(reversed(kept))


def _rank(values, token_id):
    """The word's rank in `values`, 1 for the largest."""
    return 1 + int(np.sum(values > values[token_id]))


def _top_list(step):
    """The top words as lines: rank, word, logit, probability (3 significant figures)."""
    rows = [("rank", "word", "logit", "prob.")] + [
        (str(_rank(step.logits, i)), cut([t])[0], significant(step.logits[i]), significant(step.probs[i]))
        for i, t in zip(step.top_ids, step.top_tokens)]
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    return "\n".join(" ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _vocabulary_plot(ax, values, step, title):
    """Every word of the vocabulary as one point, sorted by rank (log axis, 1 = likeliest); the top words marked
    (their list is beside the row, off the data)."""
    ranked = np.sort(values[np.isfinite(values)])[::-1]
    ranks = np.arange(1, len(ranked) + 1)
    ax.plot(ranks, ranked, color="tab:blue", linewidth=0.8)
    ax.set_xscale("log")
    for k, token_id in enumerate(step.top_ids, 1):
        colour = "tab:orange" if k == 1 else "tab:red"
        ax.plot(_rank(values, token_id), values[token_id], "o", color=colour, markersize=5, gid="top-word")
    ax.set_xlim(0.7, len(ranked) * 1.4)  # room around rank 1 and the last rank, so no marker sits on the axis
    low, high = float(ranked[-1]), float(ranked[0])
    ax.set_ylim(low - 0.05 * (high - low), high + 0.12 * (high - low))
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xlabel("rank of the word (1 = likeliest, log scale)", fontsize=8)
    ax.tick_params(labelsize=8)


def draw_decoding(steps, note=""):
    """12: each greedy step as the generator computes it: the decoder's output vector, × W + b = a logit for
    every word of the vocabulary, softmax = probabilities, the likeliest word appended (<unk>: what it became)."""
    rows = max(1, len(steps))
    fig = figure((16.0, 1.4 + 2.3 * rows))
    grid = fig.add_gridspec(rows, 4, width_ratios=[1.6, 2.4, 2.4, 1.2])
    vocab = len(steps[0].logits) if steps else 0
    for r, step in enumerate(steps):
        first = r == 0
        hidden_ax = fig.add_subplot(grid[r, 0])
        reads = f"step {r + 1} reads: "
        reads += last_words(step.prefix, ROW_TITLE_CHARS - len(reads))
        heatmap(hidden_ax, step.hidden[None], ("decoder output at the last position\n" if first else "") + reads,
                fontsize=8)
        hidden_ax.set_xlabel(f"d_model = {len(step.hidden)}", fontsize=8)
        _vocabulary_plot(fig.add_subplot(grid[r, 1]), step.logits, step,
                         ("× W + b (the generator) = a logit for each of the " if first else "logits, ")
                         + f"{vocab} words, by rank")
        _vocabulary_plot(fig.add_subplot(grid[r, 2]), step.probs, step,
                         "softmax = probabilities (they sum to 1), by rank" if first else "probabilities")
        word_ax = fig.add_subplot(grid[r, 3])
        word_ax.axis("off")
        became = ""
        if step.chosen == "<unk>":
            became = f"\n<unk>: the translation puts\nthe source word '{step.became}' here" if step.became else ""
        word_ax.text(0.0, 1.0, f"→ '{step.chosen}' ({significant(step.top_probs[0])}){became}", fontsize=11,
                     va="top", color="tab:orange", fontweight="bold")
        word_ax.text(0.0, 0.62 if became else 0.78, _top_list(step), fontsize=9, va="top", family="monospace",
                     gid="top-list")
    words = " ".join(s.chosen for s in steps)
    _title(fig, f"Greedy decoding: at each step the generator scores every word of the vocabulary; the likeliest "
                f"(orange) is appended until <eos>.\nOutput: {words}", note)
    return fig
