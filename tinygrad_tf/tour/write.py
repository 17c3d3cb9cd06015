"""`write_tour`: every picture as a PNG plus an offline index.html that shows them in order."""
import html
import os

from .draw_common import DPI
from .pictures import PICTURES, Choice

INDEX = "index.html"


def _caption(picture, subject, choice):
    finding = picture.finding(subject, choice) if picture.finding else ""
    return html.escape(picture.caption) + (f"</p>\n<p class=\"finding\"><b>In this model:</b> {html.escape(finding)}"
                                           if finding else "")


def _index_html(subject, source, choice):
    head = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>The Transformer, picture by "
            f"picture</title>\n<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
            f"line-height:1.45}} img{{max-width:100%;border:1px solid #ddd}} h2{{margin-top:2.2em}}</style></head>\n"
            f"<body>\n<h1>The Transformer, picture by picture</h1>\n"
            f"<p>Every picture is drawn from the numbers this model computes for one sentence.</p>\n"
            f"<p><b>Model:</b> {html.escape(source)}<br><b>Sentence:</b> {html.escape(subject.sentence)}<br>"
            f"<b>Greedy translation:</b> {html.escape(subject.translation)}<br>"
            f"<b>As the model reads it:</b> {html.escape(' '.join(subject.src_tokens))}</p>\n" + _warnings_html(subject))
    body = "".join(f"<h2>{n}. {html.escape(p.title)}</h2>\n<p>{_caption(p, subject, choice)}</p>\n"
                   f"<a href=\"{p.file}\" title=\"open at full size\"><img src=\"{p.file}\" "
                   f"alt=\"{html.escape(p.title)}\"></a>\n" for n, p in enumerate(PICTURES, 1))
    return head + body + "</body></html>\n"


def _warnings_html(subject):
    """The reading's warnings, boxed at the top of the page (nothing when the model reads the sentence well)."""
    if not subject.reading.warnings:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in subject.reading.warnings)
    return (f"<div class=\"warning\" role=\"alert\" style=\"border:2px solid #c62828;background:#fff3f3;"
            f"padding:0.5em 1em\"><b>Warning: this model cannot read the sentence well.</b><ul>{items}</ul></div>\n")


def write_tour(out, subject, choice=Choice(), source=None, overwrite=False, dpi=DPI, progress=None):
    """Write the twelve PNGs and `index.html` into the directory `out` (created if missing).

    Args:
        subject: a `Subject` (from `random_subject` or `load_subject`).
        choice: the layer, head and word the attention pictures follow.
        source: a line saying where the model comes from, for the index page.
        overwrite: replace an earlier tour in `out`; without it a directory holding one is an error.
        progress: called with each file name as it is written.

    Returns:
        the list of paths written (the pictures in order, then index.html).
    """
    index = os.path.join(out, INDEX)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"tour: --out {out} exists and is not a directory")
    if os.path.exists(index) and not overwrite:
        raise ValueError(f"tour: {out} already holds a tour ({INDEX}); choose another --out or pass --overwrite")
    os.makedirs(out, exist_ok=True)
    paths = []
    for picture in PICTURES:
        figure = picture.make(subject, choice)
        path = os.path.join(out, picture.file)
        figure.savefig(path, dpi=dpi)
        paths.append(path)
        if progress:
            progress(picture.file)
    source = source or ("a trained model" if subject.trained else "a small model with fixed random weights")
    with open(index, "w", encoding="utf-8") as f:
        f.write(_index_html(subject, source, choice))
    return paths + [index]
