"""Pictures 03 (Q, K, V), 04 (one query's scores), 05 (matrix form), 06 (heads), 07 (one word's attention)."""
import math

import numpy as np

from .draw_basics import _title
from .draw_common import CELL_GID, bars, cut, figure, heatmap

SMALL = 8  # annotate a per-head strip with its numbers when d_k is at most this


def _where(data):
    return f"{data.kind}, layer {data.layer}, head {data.head}"


def draw_qkv(data, note=""):
    """03: X · W + b = Q, K, V for one head, drawn in the formula's orientation, on shared colour scales."""
    p, h = data.parts, data.head
    d_k, cols = p.d_k, slice(data.head * p.d_k, (data.head + 1) * p.d_k)
    n, d_model = p.x_query.shape
    fig = figure((16.0, 12.0))
    grid = fig.add_gridspec(3, 7, width_ratios=[3.2, 0.35, 1.3, 0.35, 1.3, 0.35, 1.6])
    weights = [(name, w[:, cols], b[cols], out[h]) for name, w, b, out in
               (("Q", p.w_q, p.b_q, p.q), ("K", p.w_k, p.b_k, p.k), ("V", p.w_v, p.b_v, p.v))]
    w_bound = max(max(np.abs(w).max(), np.abs(b).max()) for _, w, b, _ in weights)
    out_bound = max(np.abs(o).max() for *_, o in weights)
    x_ax = fig.add_subplot(grid[:, 0])
    x_image = heatmap(x_ax, p.x_query, f"X: the layer's input {p.x_query.shape}, one row per token", rows=data.queries,
                      fontsize=9)
    x_ax.set_xlabel(f"d_model = {d_model}", fontsize=9)
    fig.colorbar(x_image, ax=x_ax, location="bottom", shrink=0.6, label="X")
    w_axes, out_axes = [], []
    for r, (name, w, b, out) in enumerate(weights):
        for column, sign in ((1, "·"), (3, "+"), (5, "=")):
            ax = fig.add_subplot(grid[r, column])
            ax.axis("off")
            ax.text(0.5, 0.5, ("X " if column == 1 else "") + sign, fontsize=18, ha="center", va="center")
        w_ax = fig.add_subplot(grid[r, 2])
        w_image = heatmap(w_ax, w, f"W_{name}, head {h}'s columns\n({d_model}, {d_k})", vmin=-w_bound, vmax=w_bound,
                          fontsize=9)
        w_ax.set_ylabel(f"{d_model} inputs", fontsize=9)
        b_ax = fig.add_subplot(grid[r, 4])
        heatmap(b_ax, b[None], f"b_{name} (1, {d_k})\nadded to every row", vmin=-w_bound, vmax=w_bound, fontsize=9)
        b_ax.set_box_aspect(0.12)
        o_ax = fig.add_subplot(grid[r, 6])
        out_image = heatmap(o_ax, out, f"{name} = X·W_{name} + b_{name}\nhead {h} {out.shape}", rows=data.queries,
                            vmin=-out_bound, vmax=out_bound, annotate=d_k <= SMALL, fmt="{:.1f}", fontsize=9)
        w_axes += [w_ax, b_ax]
        out_axes.append(o_ax)
    fig.colorbar(w_image, ax=w_axes, shrink=0.5, label="weights and biases (one scale)")
    fig.colorbar(out_image, ax=out_axes, shrink=0.5, label="Q, K, V (one scale)")
    _title(fig, f"Queries, keys and values ({_where(data)}): each token's row of X times W plus b gives its "
                "query, key and value", note)
    return fig


def draw_scores(data, note=""):
    """04: one query token: q·k with every key, ÷√d_k, softmax, then the weighted sum of the values."""
    p, h, i = data.parts, data.head, data.word
    keys, word = data.keys, data.queries[data.word]
    n = len(keys)
    fig = figure((18.0, 2.2 + 0.36 * n))
    axes = fig.subplots(1, 5, gridspec_kw=dict(width_ratios=[1, 1, 1, 1.3, 1.3]))
    bars(axes[0], keys, p.scores[h, i], f"1. score = q('{word}') · k\n(dot product with each key)", highlight=i)
    bars(axes[1], keys, p.scaled[h, i], f"2. ÷ √d_k = ÷ {math.sqrt(p.d_k):.2f}", highlight=i)
    bars(axes[2], keys, p.weights[h, i], "3. softmax: weights (sum to 1)", fmt="{:.3f}", highlight=i, color="tab:green")
    weighted = p.weights[h, i][:, None] * p.v[h]  # (k_len, d_k): each value row times its weight
    heatmap(axes[3], weighted, "4. weight × v for each key", rows=keys, annotate=p.d_k <= SMALL, fmt="{:.2f}")
    axes[3].set_xlabel(f"d_k = {p.d_k}", fontsize=8)
    heatmap(axes[4], p.z[h, i][None], f"5. z('{word}') = Σ weight × v\n(sum of the rows on the left)",
            rows=[f"z('{word}')"], annotate=p.d_k <= SMALL, fmt="{:.2f}")
    axes[4].set_box_aspect(1.5 / p.d_k)
    _title(fig, f"Attention for one query: '{word}' ({_where(data)}); orange: the word itself", note)
    return fig


def draw_matrix_form(data, note=""):
    """05: the same for every query at once: Q Kᵀ, ÷√d_k, masked, softmax, × V, with shapes."""
    p, h = data.parts, data.head
    q_tokens, k_tokens = data.queries, data.keys
    n, m = len(q_tokens), len(k_tokens)
    annotate = max(n, m) <= 14
    fig = figure((20.0, 9.0 + 0.25 * max(n, m)))
    top = fig.subplots(2, 5, gridspec_kw=dict(width_ratios=[0.8, 1, 1, 1, 1]))
    heatmap(top[0, 0], p.q[h], f"Q {p.q[h].shape}", rows=q_tokens)
    heatmap(top[0, 1], p.k[h].T, f"Kᵀ {p.k[h].T.shape}", cols=k_tokens)
    heatmap(top[0, 2], p.scores[h], f"Q Kᵀ {p.scores[h].shape}", rows=q_tokens, cols=k_tokens, annotate=annotate, fmt="{:.1f}")
    heatmap(top[0, 3], p.scaled[h], f"÷ √d_k = ÷ {math.sqrt(p.d_k):.2f}", rows=q_tokens, cols=k_tokens,
            annotate=annotate, fmt="{:.1f}")
    heatmap(top[0, 4], p.mask.astype(float), f"mask {p.mask.shape}:\nTrue (dark) = may attend" + ("\n(no padding: all True)" if p.mask.all() else ""), cmap="Greys",
            vmin=0, vmax=1.4, rows=q_tokens, cols=k_tokens)
    heatmap(top[1, 0], p.v[h], f"V {p.v[h].shape}", rows=k_tokens)
    heatmap(top[1, 1], p.masked[h], "masked: −∞ where the mask is False", rows=q_tokens, cols=k_tokens,
            annotate=annotate, fmt="{:.1f}")
    heatmap(top[1, 2], p.weights[h], f"softmax per row {p.weights[h].shape}", rows=q_tokens, cols=k_tokens,
            cmap="viridis", vmin=0, vmax=float(p.weights.max()), annotate=annotate, fmt="{:.2f}")
    heatmap(top[1, 3], p.z[h], f"softmax(·) V = Z {p.z[h].shape}", rows=q_tokens, annotate=p.d_k <= SMALL and annotate)
    top[1, 4].axis("off")
    top[1, 4].text(0.0, 0.5, "Attention(Q, K, V) =\n  softmax(Q Kᵀ / √d_k) V\n\nrows: queries\ncolumns: keys\n"
                   f"d_k = {p.d_k}", fontsize=12, va="center", family="monospace")
    _title(fig, f"Matrix form ({_where(data)}): every query at once", note)
    return fig


def draw_heads(data, note=""):
    """06: every head's weights side by side, their outputs concatenated, times W_O."""
    p = data.parts
    heads, n = p.num_heads, len(data.queries)
    fig = figure((max(16.0, 3.6 * heads), 4.0 + 0.5 * n))
    grid = fig.add_gridspec(2, max(heads, 3))
    for h in range(heads):
        heatmap(fig.add_subplot(grid[0, h]), p.weights[h], f"head {h}: weights", rows=data.queries if h == 0 else None,
                cols=data.keys, cmap="viridis", vmin=0, vmax=float(p.weights.max()), colorbar=h == heads - 1)
    third = max(heads, 3) // 3
    concat_ax = fig.add_subplot(grid[1, :third])
    heatmap(concat_ax, p.concat, f"concat(z of every head) {p.concat.shape}", rows=data.queries)
    for h in range(1, heads):
        concat_ax.axvline(h * p.d_k - 0.5, color="black", linewidth=1.2)
    concat_ax.set_xticks([(h + 0.5) * p.d_k - 0.5 for h in range(heads)], [f"head {h}" for h in range(heads)], fontsize=7)
    heatmap(fig.add_subplot(grid[1, third : 2 * third]), p.w_o, f"× W_O {p.w_o.shape}")
    heatmap(fig.add_subplot(grid[1, 2 * third :]), p.output, f"= output {p.output.shape} (+ bias)", rows=data.queries)
    _title(fig, f"Multi-head attention ({data.kind}, layer {data.layer}): {heads} heads look in different ways, "
                "then W_O mixes them back to d_model", note)
    return fig


def _lines(ax, tokens, weights, word, colors, title, label_weights=True):
    """Tokens in two columns; a line from the chosen word (left) to each token (right), thicker for more weight."""
    n = len(tokens)
    for side in (0, 1):
        for j, t in enumerate(cut(tokens)):
            bold = "bold" if side == 0 and j == word else "normal"
            ax.text(side, -j, t, ha="right" if side == 0 else "left", va="center", fontsize=9, fontweight=bold)
    for w_row, color in zip(weights, colors):
        for j, w in enumerate(w_row):
            ax.plot([0.05, 0.95], [-word, -j], color=color, alpha=float(min(1.0, 0.1 + w)), linewidth=0.5 + 8 * w)
            if label_weights and w >= 0.05:
                ax.text(0.97, -j + 0.3, f"{w:.2f}", fontsize=6, color=color)
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylim(-n + 0.5, 0.8)
    ax.axis("off")
    ax.set_title(title, fontsize=10)


def draw_word_attention(data, note="", search=None):
    """07: where one word looks: the chosen head's heatmap, its lines, every head's lines in colour, and
    (given a `tour.search.HeadSearch`) the head search's grid of every layer and head."""
    from matplotlib.patches import Rectangle
    import matplotlib

    p, h, i = data.parts, data.head, data.word
    n, word = len(data.keys), data.queries[data.word]
    fig = figure((18.0, 3.4 + 0.42 * n))
    ratios = [1.2, 1, 1] + ([1.8] if search is not None else [])  # the grid's cells hold three short lines
    axes = fig.subplots(1, len(ratios), gridspec_kw=dict(width_ratios=ratios))
    heatmap(axes[0], p.weights[h], f"head {h}: every word's weights", rows=data.queries, cols=data.keys,
            cmap="viridis", vmin=0, vmax=float(p.weights.max()), colorbar=True, fontsize=9)
    axes[0].set_ylabel("query", fontsize=9)
    axes[0].set_xlabel("key", fontsize=9)
    axes[0].add_patch(Rectangle((-0.5, i - 0.5), n, 1, fill=False, edgecolor="tab:red", linewidth=2))
    palette = matplotlib.colormaps["tab10"]  # head k has the same colour in both line panels
    _lines(axes[1], data.keys, p.weights[h, i][None], i, [palette(h)], f"head {h}: '{word}' attends to")
    _lines(axes[2], data.keys, p.weights[:, i], i, [palette(k) for k in range(p.num_heads)],
           "every head of this layer (one colour each)", label_weights=False)
    for k in range(p.num_heads):
        axes[2].plot([], [], color=palette(k), linewidth=3, label=f"head {k}")
    axes[2].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(p.num_heads, 4), frameon=False)
    if search is not None:
        _search_grid(axes[3], search, data.layer, h)
    top = p.weights[h, i].argsort()[::-1][:3]
    best = ", ".join(f"'{data.keys[j]}' {p.weights[h, i, j]:.2f}" for j in top)
    finding = "" if search is None else "\n" + _wrap(search.statement(), 150)
    _title(fig, f"Where '{word}' looks ({_where(data)}): most weight on {best}{finding}", note)
    return fig


def _search_grid(ax, search, layer, head):
    """The head search: a (layers, heads) grid of how much more the word looks at the key than other words do,
    each cell with the word's weight, the other words' mean and the key; the drawn head boxed."""
    from matplotlib.patches import Rectangle

    word = search.tokens[search.word]
    what = f"'{search.tokens[search.target]}'" if search.target is not None else "each head's key (in its cell)"
    layers, heads = search.grid.shape
    bound = max(0.05, float(np.abs(search.grid).max()))
    heatmap(ax, search.grid, f"head search: '{word}' → {what}\nits weight minus other words' mean (a vs b)",
            rows=[f"layer {l}" for l in range(layers)], cols=[f"head {k}" for k in range(heads)], cmap="RdBu_r",
            vmin=-bound, vmax=bound, fontsize=9)
    for match in search.ranking:
        strong = abs(match.lift) > 0.6 * bound
        label = f"{match.lift:+.2f}\n{match.weight:.2f} vs {match.baseline:.2f}"  # ranked by, then both numbers
        label += "" if search.target is not None else f"\n{cut([match.key_token])[0]}"
        ax.text(match.head, match.layer, label, ha="center", va="center", fontsize=8,
                color="white" if strong else "black", gid=CELL_GID)
    ax.add_patch(Rectangle((head - 0.5, layer - 0.5), 1, 1, fill=False, edgecolor="tab:red", linewidth=2.5))
    ax.set_xticks(range(heads), [f"head {k}" for k in range(heads)], rotation=0, fontsize=8)


def _wrap(text, width):
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
