"""Shared drawing helpers of the tour: figures on the Agg canvas, labelled heatmaps, bars."""
import functools
import io

import numpy as np

from ..plots import require_matplotlib

DPI = 100
MAX_LABEL = 20
CELL_GID = "cell-number"  # the gid of a number written inside a heatmap cell (hidden where it does not fit)


@functools.cache
def _inline_figure_class():
    """A Figure that Jupyter shows as a PNG when it is a cell's value (made once, after matplotlib is imported)."""
    from matplotlib.figure import Figure

    class InlineFigure(Figure):
        def _repr_png_(self):
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=self.dpi)
            return buffer.getvalue()

    return InlineFigure


def figure(figsize, dpi=DPI, layout="constrained"):
    """A Figure of exactly `figsize` inches at `dpi` on its own Agg canvas (no pyplot, no global backend).

    It is a notebook cell's picture when it is the cell's value: Jupyter
    shows its PNG (`_repr_png_`) without any %matplotlib magic.
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _inline_figure_class()(figsize=figsize, dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def cut(tokens):
    """Tokens short enough for an axis label."""
    return [t if len(t) <= MAX_LABEL else t[: MAX_LABEL - 1] + "…" for t in tokens]


def cell_text(value, fmt="{:.2f}"):
    """`value` written with `fmt`, never as a negative zero ("-0.0" is 0 rounded: it prints "0.0")."""
    text = fmt.format(value)
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def annotate_cells(ax, values, fmt="{:.2f}", fontsize=7, skip=None):
    """Write each cell's value on a heatmap (text dark or light against the cell colour)."""
    image = ax.images[-1]
    for (r, c), value in np.ndenumerate(values):
        if skip is not None and skip[r, c]:
            continue
        rgba = image.cmap(image.norm(value)) if np.isfinite(value) else (1, 1, 1, 1)
        light = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] > 0.55
        text = cell_text(value, fmt) if np.isfinite(value) else ("−∞" if value < 0 else "∞")
        ax.text(c, r, text, ha="center", va="center", fontsize=fontsize, color="black" if light else "white",
                gid=CELL_GID)


def heatmap(ax, values, title=None, rows=None, cols=None, cmap="RdBu_r", vmin=None, vmax=None,
            annotate=False, fmt="{:.2f}", fontsize=8, colorbar=False):
    """A labelled heatmap of a 2-D array; diverging colours centred on 0 unless vmin/vmax say otherwise.

    Returns:
        the AxesImage.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if vmin is None and vmax is None:
        bound = float(np.abs(finite).max()) if finite.size else 1.0
        vmin, vmax = -(bound or 1.0), (bound or 1.0)
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    if rows is not None:
        ax.set_yticks(range(len(rows)), cut(rows), fontsize=fontsize)
    else:
        ax.set_yticks([])
    if cols is not None:
        ax.set_xticks(range(len(cols)), cut(cols), rotation=90, fontsize=fontsize)
    else:
        ax.tick_params(axis="x", labelsize=fontsize - 1)
    ax.tick_params(length=0)
    if annotate:
        annotate_cells(ax, values, fmt, fontsize=max(5, fontsize - 2))
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8).ax.tick_params(labelsize=fontsize - 1)
    return image


def bars(ax, labels, values, title, fmt="{:.2f}", highlight=None, color="tab:blue", fontsize=8):
    """Horizontal bars, one per label (top to bottom), each with its number written beside it."""
    values = np.asarray(values, dtype=np.float64)
    colors = [("tab:orange" if i == highlight else color) for i in range(len(values))]
    ax.barh(range(len(values)), values, color=colors)
    ax.set_yticks(range(len(labels)), cut(labels), fontsize=fontsize)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_title(title, fontsize=fontsize + 1)
    span = float(np.abs(values).max()) or 1.0
    lo, hi = min(0.0, float(values.min())), max(0.0, float(values.max()))
    ax.set_xlim(lo - 0.35 * span * (lo < 0), hi + 0.35 * span)
    for i, v in enumerate(values):
        ax.text(v + (0.03 * span if v >= 0 else -0.03 * span), i, fmt.format(v), va="center",
                ha="left" if v >= 0 else "right", fontsize=fontsize - 1)
    ax.tick_params(axis="x", labelsize=fontsize - 1)


def subtitle(subject):
    """What the numbers come from, for every picture's title (and how much of the sentence the model knows)."""
    source = "trained model" if subject.trained else "small model with fixed random weights (mechanics, not meaning)"
    reading = subject.reading
    if reading.warnings:
        source += (f"; WARNING: {reading.unknown} of the sentence's {len(reading.tokens)} tokens are <unk> to this model"
                   " (see the page)")
    return source
