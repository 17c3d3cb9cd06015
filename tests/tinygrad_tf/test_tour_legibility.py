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
