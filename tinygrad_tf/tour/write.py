"""`write_tour`: every picture as a PNG plus an offline index.html that shows them in order."""
import html
import io
import os

from ..outputs import write_bytes
from .draw_common import DPI
from .legibility import PAGE_COLUMN_PX, fit_text
from .numbers import numbers_html
from .pictures import PICTURES, Choice

INDEX = "index.html"


def _caption(picture, subject, choice):
    finding = picture.finding(subject, choice) if picture.finding else ""
    return html.escape(picture.caption) + (f"</p>\n<p class=\"finding\"><b>In this model:</b> {html.escape(finding)}"
                                           if finding else "")


def numbers_file(picture):
    """The numbers page beside a picture: '05-matrix-form.png' -> '05-matrix-form.html'."""
    return os.path.splitext(picture.file)[0] + ".html"


def _figure_html(picture, numbers):
    link = (f"<p class=\"numbers\">Every number of this picture, on hover: <a href=\"{numbers_file(picture)}\">"
            f"{numbers_file(picture)}</a></p>\n" if numbers else "")
    return (f"<a href=\"{picture.file}\" title=\"open at full size\"><img src=\"{picture.file}\" "
            f"alt=\"{html.escape(picture.title)}\"></a>\n{link}")


def _index_html(subject, source, choice, with_numbers=()):
    head = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>The Transformer, picture by "
            f"picture</title>\n<style>body{{font-family:sans-serif;max-width:{PAGE_COLUMN_PX}px;margin:1em auto;"
            f"padding:0 8px;line-height:1.45}} img{{max-width:100%;box-sizing:border-box;border:1px solid #ddd}} "
            f"h2{{margin-top:2.2em}}</style></head>\n"
            f"<body>\n<h1>The Transformer, picture by picture</h1>\n"
            f"<p>Every picture is drawn from the numbers this model computes for one sentence. Click a picture to "
            f"open it at full size; the page beside each one gives every number on hover.</p>\n"
            f"<p><b>Model:</b> {html.escape(source)}<br><b>Sentence:</b> {html.escape(subject.sentence)}<br>"
            f"<b>Greedy translation:</b> {html.escape(subject.translation)}<br>"
            f"<b>As the model reads it:</b> {html.escape(' '.join(subject.src_tokens))}</p>\n" + _warnings_html(subject))
    body = "".join(f"<h2>{n}. {html.escape(p.title)}</h2>\n<p>{_caption(p, subject, choice)}</p>\n"
                   + _figure_html(p, p.file in with_numbers) for n, p in enumerate(PICTURES, 1))
    return head + body + "</body></html>\n"


def _warnings_html(subject):
    """The reading's warnings, boxed at the top of the page (nothing when the model reads the sentence well)."""
    if not subject.reading.warnings:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in subject.reading.warnings)
    return (f"<div class=\"warning\" role=\"alert\" style=\"border:2px solid #c62828;background:#fff3f3;"
            f"padding:0.5em 1em\"><b>Warning: this model cannot read the sentence well.</b><ul>{items}</ul></div>\n")


def write_tour(out, subject, choice=Choice(), source=None, overwrite=False, dpi=DPI, progress=None):
    """Write the twelve PNGs, beside each one with heatmaps its numbers page, and `index.html` into `out`.

    Args:
        subject: a `Subject` (from `random_subject` or `load_subject`).
        choice: the layer, head and word the attention pictures follow.
        source: a line saying where the model comes from, for the index page.
        overwrite: replace an earlier tour in `out`; without it a directory holding one is an error.
        progress: called with each file name as it is written.

    Returns:
        the list of paths written (the pictures in order, then index.html; the numbers pages are
        `numbers_file(picture)` beside their pictures).
    """
    index = os.path.join(out, INDEX)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"tour: --out {out} exists and is not a directory")
    if os.path.exists(index) and not overwrite:
        raise ValueError(f"tour: {out} already holds a tour ({INDEX}); choose another --out or pass --overwrite")
    os.makedirs(out, exist_ok=True)
    paths, with_numbers = [], set()
    for picture in PICTURES:
        figure = picture.make(subject, choice)
        fit_text(figure, dpi)  # every printed number readable at page size; cells too small say theirs on hover
        png = io.BytesIO()
        figure.savefig(png, dpi=dpi, format="png")
        path = os.path.join(out, picture.file)
        write_bytes(path, png.getvalue())
        paths.append(path)
        if any(ax.images for ax in figure.axes):
            write_bytes(os.path.join(out, numbers_file(picture)),
                         numbers_html(figure, picture.title, picture.file).encode("utf-8"))
            with_numbers.add(picture.file)
        if progress:
            progress(picture.file)
    source = source or ("a trained model" if subject.trained else "a small model with fixed random weights")
    write_bytes(index, _index_html(subject, source, choice, with_numbers).encode("utf-8"))
    return paths + [index]
