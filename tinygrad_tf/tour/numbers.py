"""A picture's heatmaps as an HTML page whose every cell tells its number on hover.

The tour's PNGs print a number in a cell only where it can be read at page
size; this page beside each PNG holds all of them: each heatmap of the figure
as a table of coloured cells (the picture's own colours), its row and column
labels, and the value (with its row and column) in the cell's tooltip.
"""
import html

import numpy as np

MAX_CELLS = 30_000  # a heatmap with more cells is left out of the page (named, with its shape)


def _labels(ticks, count, prefix):
    texts = [t.get_text() for t in ticks]
    return texts if len(texts) == count and any(texts) else [f"{prefix}{i}" for i in range(count)]


def _colour(image, value):
    if not np.isfinite(value):
        return "#bdbdbd"
    r, g, b, _ = image.cmap(image.norm(value))
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def _table(ax):
    image = ax.images[0]  # the data; a later image is an overlay (the masked cells of picture 11)
    values = np.ma.filled(np.ma.masked_invalid(np.ma.asarray(image.get_array(), dtype=np.float64)), np.nan)
    title = html.escape(ax.get_title() or "heatmap").replace("\n", " ")
    if values.ndim != 2:
        return ""
    rows, cols = values.shape
    if rows * cols > MAX_CELLS:
        return f"<h2>{title}</h2><p>{rows} × {cols} values: too many to list here.</p>\n"
    row_labels = _labels(ax.get_yticklabels(), rows, "row ")
    col_labels = _labels(ax.get_xticklabels(), cols, "column ")
    head = "<tr><th></th>" + "".join(f"<th class=\"col\"><span>{html.escape(c)}</span></th>" for c in col_labels) + "</tr>"
    body = []
    for r, label in enumerate(row_labels):
        cells = "".join(
            f"<td style=\"background:{_colour(image, v)}\" title=\"{html.escape(label, quote=True)} → "
            f"{html.escape(col_labels[c], quote=True)}: {v:.4g}\"></td>" for c, v in enumerate(values[r]))
        body.append(f"<tr><th>{html.escape(label)}</th>{cells}</tr>")
    return f"<h2>{title}</h2><p>{rows} × {cols}</p>\n<table>{head}{''.join(body)}</table>\n"


def numbers_html(fig, title, picture):
    """The page of every heatmap of `fig` (a tour picture titled `title`, drawn in the file `picture`)."""
    tables = "".join(_table(ax) for ax in fig.axes if ax.images)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}: the "
            "numbers</title>\n<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;"
            "margin-bottom:1.5em}td{width:18px;height:18px;padding:0;border:1px solid #fff}th{font-weight:normal;"
            "font-size:13px;text-align:right;padding-right:4px;white-space:nowrap}th.col{vertical-align:bottom;"
            "height:7em}th.col span{writing-mode:vertical-rl;transform:rotate(180deg)}h2{font-size:15px}"
            "</style></head>\n"
            f"<body><h1>{html.escape(title)}: every number</h1>\n<p>Hover a cell for its value (row → column: value). "
            f"The picture: <a href=\"{html.escape(picture)}\">{html.escape(picture)}</a>.</p>\n{tables}</body></html>\n")
