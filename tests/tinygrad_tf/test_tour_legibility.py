"""The tour's page at 1280 px: every text a picture prints is at least 10 px high as the page shows it
(font sizes measured in the rendered SVG, the picture's shown width measured in Chromium), every picture
opens at full size, and the numbers too dense to print are on hover in the page beside it."""
import html
import io
import os
import re
import shutil
import tempfile

import pytest

pytest.importorskip("matplotlib")

from tinygrad_tf import tour  # noqa: E402
from tinygrad_tf.tour.draw_common import DPI  # noqa: E402
from tinygrad_tf.tour.legibility import PAGE_COLUMN_PX, fit_text  # noqa: E402
from tinygrad_tf.tour.write import numbers_file  # noqa: E402

MIN_PX = 10.0


@pytest.fixture(scope="module")
def subject():
    return tour.random_subject()


@pytest.fixture(scope="module")
def written(subject, tmp_path_factory):
    """The directory of the random model's tour, written once."""
    out = tmp_path_factory.mktemp("tour")
    tour.write_tour(str(out), subject)
    return out


@pytest.fixture(scope="module")
def svg_fonts(subject):
    """{picture file: (figure width in points, [font size of every text drawn], in points)} from the SVG."""
    import matplotlib

    fonts = {}
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays <text>, with its font size
        for picture in tour.PICTURES:
            figure = picture.make(subject, tour.Choice())
            fit_text(figure)
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", dpi=DPI)
            svg = buffer.getvalue()
            width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
            sizes = [float(s) for s in re.findall(r"<text[^>]*font-size: ([\d.]+)px", svg)]
            fonts[picture.file] = (width, sizes)
    return fonts


def _shown_px(fonts, shown_width):
    width, sizes = fonts
    return min(sizes) * shown_width / width


def test_every_text_is_10px_high_where_the_page_column_shows_it(svg_fonts):
    for file, fonts in svg_fonts.items():
        assert fonts[1], file
        natural = fonts[0] / 72 * DPI  # the PNG's width in pixels
        assert _shown_px(fonts, min(natural, PAGE_COLUMN_PX)) >= MIN_PX, file


def test_numbers_too_dense_to_print_are_on_hover(subject, written):
    tmp_path = written
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    data = tour.self_attention_data(subject, 0, 0, None)
    numbers = (tmp_path / numbers_file(tour.PICTURES[4])).read_text(encoding="utf-8")  # 05: the matrix form
    assert f'href="{numbers_file(tour.PICTURES[4])}"' in page
    i, j = data.queries.index("it"), data.keys.index("animal")
    shown = [float(v) for k, v in re.findall(r'title="([^"]+?): ([-\d.e+]+)"', numbers) if html.unescape(k) == "it → animal"]
    assert any(v == pytest.approx(float(data.parts.weights[0, i, j]), rel=1e-3) for v in shown), shown


# ---- the page in Chromium ---------------------------------------------------------------
webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and os.path.exists(p)), None)
DRIVER = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver") if p and os.path.exists(p)), None)


@pytest.mark.skipif(CHROMIUM is None or DRIVER is None, reason="Chromium and chromedriver are not installed")
def test_at_1280_px_every_text_is_10px_and_every_picture_opens_at_full_size(svg_fonts, written):
    from selenium.common.exceptions import WebDriverException

    tmp_path = written
    profile = tempfile.mkdtemp(prefix="tinygrad-tf-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(DRIVER), options=options)
    except WebDriverException as e:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"Chromium did not start: {str(e).splitlines()[0]}")
    try:
        driver.get("file://" + str(tmp_path / "index.html"))
        shown = driver.execute_script(
            "return [...document.images].map(i => [i.getAttribute('src'), i.getBoundingClientRect().width, "
            "i.naturalWidth, i.parentElement.tagName, i.parentElement.getAttribute('href')])")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    assert [s[0] for s in shown] == list(tour.FILES)
    for src, width, natural, parent, href in shown:
        assert natural > 0 and parent == "A" and href == src  # loaded, and a click opens it at full size
        assert _shown_px(svg_fonts[src], width) >= MIN_PX, (src, width)


def _cell_numbers(ax):
    from tinygrad_tf.tour.draw_common import CELL_GID

    return [t for t in ax.texts if t.get_gid() == CELL_GID]


def test_a_heatmap_shows_all_its_cell_numbers_or_none_and_says_where_they_are():
    import numpy as np

    from tinygrad_tf.tour.draw_common import figure, heatmap
    from tinygrad_tf.tour.legibility import CELL_ROOM, HIDDEN_NOTE

    fig = figure((6.0, 2.0))
    wide, narrow = fig.subplots(1, 2)
    heatmap(wide, np.array([[-1234.56, 0.5] * 3]), annotate=True, fmt="{:.2f}")  # only the negatives overflow
    heatmap(narrow, np.array([[0.5, -0.5]]), annotate=True, fmt="{:.1f}")
    fit_text(fig)
    renderer = fig.canvas.get_renderer()
    texts = _cell_numbers(wide)
    (x0, _), (x1, _) = wide.transData.transform([(0, 0), (1, 1)])
    assert not any(t.get_visible() for t in texts) and HIDDEN_NOTE in wide.get_xlabel().replace("\n", " ")
    for text in texts:
        text.set_visible(True)  # a hidden text measures nothing
    fits = [t.get_window_extent(renderer).width <= CELL_ROOM * abs(x1 - x0) for t in texts]
    assert any(fits) and not all(fits)  # the case where numbers went one cell at a time
    assert all(t.get_visible() for t in _cell_numbers(narrow)) and HIDDEN_NOTE not in narrow.get_xlabel()


def test_every_pictures_heatmap_shows_all_or_none_and_no_negative_zero(subject):
    from tinygrad_tf.tour.draw_common import cell_text

    assert cell_text(-0.04, "{:.1f}") == "0.0" and cell_text(-0.06, "{:.1f}") == "-0.1"
    for picture in tour.PICTURES:
        figure = picture.make(subject, tour.Choice())
        fit_text(figure)
        for ax in figure.axes:
            shown = {t.get_visible() for t in _cell_numbers(ax)}
            assert len(shown) <= 1, picture.file
            assert not any(re.fullmatch(r"[-−]0\.0+", t.get_text()) for t in _cell_numbers(ax)), picture.file
