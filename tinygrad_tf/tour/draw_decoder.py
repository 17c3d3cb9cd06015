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
    axes = fig.subplots(1, 5, gridspec_kw=dict(width_ratios=[2.2, 1, 1, 1, 1.8]))
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


def draw_decoding(steps, note=""):
    """12: greedy decoding: at each step the top-k next tokens with their probabilities; the chosen one orange."""
    columns = 3
    rows = max(1, math.ceil(len(steps) / columns))
    k = max((len(s.top_tokens) for s in steps), default=1)
    fig = figure((17.0, 1.2 + rows * (0.6 + 0.3 * k)))
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for index, (ax, step) in enumerate(zip(axes, steps)):
        ax.barh(range(len(step.top_probs)), step.top_probs,
                color=["tab:orange" if t == step.chosen else "tab:blue" for t in step.top_tokens])
        ax.set_yticks(range(len(step.top_tokens)), cut(step.top_tokens), fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.15)
        for j, prob in enumerate(step.top_probs):
            ax.text(prob + 0.01, j, f"{prob:.3f}", va="center", fontsize=7)
        prefix = " ".join(step.prefix)
        prefix = prefix if len(prefix) <= 48 else "…" + prefix[-47:]
        ax.set_title(f"step {index + 1}, reads: {prefix}", fontsize=8, loc="left")
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes[len(steps):]:
        ax.axis("off")
    words = " ".join(s.chosen for s in steps)
    _title(fig, f"Greedy decoding: at each step the {k} most likely next tokens; the most likely (orange) is "
                f"appended.\nOutput: {words}", note)
    return fig
