"""Every number a picture prints can be read where the tour's page shows it.

The page (`index.html`) shows a picture at most `PAGE_COLUMN_PX` wide; a
picture wider than that is shrunk, and its text with it. `fit_text` raises
every text of a figure to the size that is at least `MIN_TEXT_PX` high as the
page shows it, then drops the numbers written inside a heatmap whose numbers
no longer fit their cells (all of that heatmap's, never some: a blank cell
would read as a zero), and says so under it: those are read by hovering in the
picture's numbers page instead (`numbers.numbers_html`).
"""
import textwrap

from .draw_common import CELL_GID, DPI

PAGE_COLUMN_PX = 1232  # the widest a picture is shown on the page in a 1280-px-wide window
MIN_TEXT_PX = 10.5  # the smallest text height on the page, in CSS pixels (10 asked, a little kept in hand)
CELL_ROOM = 0.85  # a cell number may fill this much of its cell's width and height, leaving padding around it
HIDDEN_NOTE = "(cell numbers: hover them on the numbers page)"


def shown_scale(fig, dpi=DPI):
    """How much the page shrinks the figure's PNG (1 when it fits the column)."""
    return min(1.0, PAGE_COLUMN_PX / (fig.get_figwidth() * dpi))


def min_font_pt(fig, dpi=DPI):
    """The smallest font size (points) whose text is MIN_TEXT_PX high as the page shows the figure."""
    return MIN_TEXT_PX * 72.0 / (dpi * shown_scale(fig, dpi))


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def fit_text(fig, dpi=DPI):
    """Raise every text of `fig` to `min_font_pt`, then hide each heatmap's cell numbers where one does not fit.

    Returns:
        how many cell numbers were hidden (their values are in the numbers page).
    """
    floor = min_font_pt(fig, dpi)
    fig.canvas.draw()  # tick labels exist only once drawn; their size is the axis's setting, not the Text's
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            if any(t.get_fontsize() < floor for t in axis.get_ticklabels()):
                ax.tick_params(axis=name, labelsize=floor)
    for text in _texts(fig):
        if text.get_fontsize() < floor:
            text.set_fontsize(floor)
    fig.canvas.draw()  # lay the figure out with the new sizes, so extents are final
    renderer = fig.canvas.get_renderer()
    panels = {}
    for text in _texts(fig):
        if text.get_gid() == CELL_GID:
            panels.setdefault(text.axes, []).append(text)
    hidden = 0
    for ax, texts in panels.items():
        (x0, y0), (x1, y1) = ax.transData.transform([(0, 0), (1, 1)])
        room_x, room_y = CELL_ROOM * abs(x1 - x0), CELL_ROOM * abs(y1 - y0)
        boxes = [t.get_window_extent(renderer) for t in texts]
        if all(b.width <= room_x and b.height <= room_y for b in boxes):
            continue
        # All of the panel's numbers or none: a blank cell beside printed ones would read as a zero.
        for text in texts:
            text.set_visible(False)
        hidden += len(texts)
        size = max(floor, 9)
        chars = max(12, int(ax.get_window_extent(renderer).width / (0.6 * size * dpi / 72)))  # the panel's width
        note = "\n".join(textwrap.wrap(HIDDEN_NOTE, chars))
        label = ax.get_xlabel()
        ax.set_xlabel(f"{label}\n{note}" if label else note, fontsize=size)
    return hidden
