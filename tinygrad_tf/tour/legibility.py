"""Every number a picture prints can be read where the tour's page shows it.

The page (`index.html`) shows a picture at most `PAGE_COLUMN_PX` wide; a
picture wider than that is shrunk, and its text with it. `fit_text` raises
every text of a figure to the size that is at least `MIN_TEXT_PX` high as the
page shows it, then drops the numbers written inside heatmap cells that no
longer fit their cell: those are read by hovering in the picture's numbers
page instead (`numbers.numbers_html`).
"""
from .draw_common import CELL_GID, DPI

PAGE_COLUMN_PX = 1232  # the widest a picture is shown on the page in a 1280-px-wide window
MIN_TEXT_PX = 10.5  # the smallest text height on the page, in CSS pixels (10 asked, a little kept in hand)


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
    """Raise every text of `fig` to `min_font_pt`, then hide cell numbers wider or taller than their cell.

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
    hidden = 0
    for text in _texts(fig):
        if text.get_gid() != CELL_GID:
            continue
        ax = text.axes
        (x0, y0), (x1, y1) = ax.transData.transform([(0, 0), (1, 1)])
        box = text.get_window_extent(renderer)
        if box.width > 0.96 * abs(x1 - x0) or box.height > 0.96 * abs(y1 - y0):
            text.set_visible(False)
            hidden += 1
    return hidden
