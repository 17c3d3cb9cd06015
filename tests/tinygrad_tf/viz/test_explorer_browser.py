"""The explorer page in a real browser: headless Chromium driven by Selenium.

Skips cleanly without selenium, Chromium or chromedriver (Debian: apt-get install chromium
chromium-driver). The page must load from disk with no console error and no network request,
draw one element per entry of its JSON's drawing, step with the arrow keys, show a clicked
node's shape and values, collapse a cluster in place, and not be blank.
"""
import io
import json
import os
import shutil
import tempfile

import numpy as np
import pytest

from helpers import needs_dot
from tinygrad_tf.viz import explorer, specimens

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser"))
                 if p and os.path.exists(p)), None)
DRIVER = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver") if p and os.path.exists(p)), None)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,900")

pytestmark = [needs_dot, pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                            reason="Chromium and chromedriver are not installed")]


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="tinygrad-tf-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + (f"--user-data-dir={profile}",):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(DRIVER), options=options)
    except WebDriverException as e:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"Chromium did not start: {str(e).splitlines()[0]}")
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """{name: (path, data)}: attention drawn whole, the Transformer with modules collapsed."""
    out = tmp_path_factory.mktemp("pages")
    made = {}
    for name, model, collapse in (("attention", "attention", None), ("transformer", "transformer", 2)):
        s = specimens.random_specimen(model, d_model=8, heads=2, layers=1, seq_len=4, batch=1)
        page = explorer.build(s, specimens.loss_of(s), collapse=collapse)
        made[name] = (page.write(out / f"{name}.html"), page.data)
    return made


def open_page(browser, path):
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get_log("performance")
    browser.get("file://" + os.path.abspath(path))
    return browser


def test_loads_without_console_errors_or_network_requests(browser, pages):
    path, data = pages["transformer"]
    open_page(browser, path)
    assert browser.execute_script("return typeof window.explorer") == "object"
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    requests = [json.loads(e["message"])["message"] for e in browser.get_log("performance")]
    sent = [m["params"] for m in requests if m["method"] == "Network.requestWillBeSent"]
    assert not [p["request"]["url"] for p in sent if p["request"]["url"].split(":")[0] in ("http", "https", "ws", "wss")]
    page_url = "file://" + os.path.abspath(path)
    mine = [p["request"]["url"] for p in sent if p.get("documentURL") == page_url]
    assert mine == [page_url]  # the page itself, then nothing: its script, style and pictures are inline


@pytest.mark.parametrize("name", ["attention", "transformer"])
def test_one_drawn_element_per_entry_of_the_drawing(browser, pages, name):
    path, data = pages[name]
    open_page(browser, path)
    drawn = browser.execute_script(
        "return [...document.querySelectorAll('[data-node-id]')].map(e => e.getAttribute('data-node-id'))")
    assert sorted(drawn) == sorted(data["drawing"]["nodes"])
    if name == "attention":  # nothing collapsed: one drawn node per node of the JSON
        assert len(drawn) == len(data["nodes"])
    else:
        assert browser.find_elements(By.CSS_SELECTOR, "[data-node-ids]")  # module boxes list what they hold


def test_right_arrow_steps_through_backward(browser, pages):
    path, data = pages["attention"]
    open_page(browser, path)
    assert browser.execute_script("return explorer.current()") is None
    body = browser.find_element(By.TAG_NAME, "body")
    for n in (1, 2, 7):
        while browser.execute_script("return explorer.index()") < n - 1:
            body.send_keys(Keys.ARROW_RIGHT)
        node = data["steps"][n - 1]["node"]
        assert browser.execute_script("return explorer.current()") == node
        marked = browser.find_element(By.CSS_SELECTOR, f'g.node[data-node-id="{data["drawn_as"][node]}"]')
        assert "current" in marked.get_attribute("class")
        shown = browser.execute_script(
            "return [...document.querySelectorAll('g.edge[data-backward]')].filter(g => !g.classList.contains('pending'))"
            ".map(g => g.dataset.edge)")
        expected = [e for e, info in data["drawing"]["edges"].items() if info["backward"] and info["sent_at"] < n]
        assert sorted(shown) == sorted(expected) and shown
        assert f"step {n} / {len(data['steps'])}" in browser.find_element(By.ID, "step-count").text
    body.send_keys(Keys.ARROW_LEFT)
    assert browser.execute_script("return explorer.current()") == data["steps"][5]["node"]
    summed = next(s for s in data["steps"] if s["paths"] > 1)
    browser.execute_script(f"explorer.step({summed['index']})")
    assert f"summed from {summed['paths']} uses" in browser.find_element(By.ID, "step-info").text


def test_clicking_a_node_shows_its_shape_and_values(browser, pages):
    path, data = pages["attention"]
    open_page(browser, path)
    weights = next(n for n in data["nodes"] if n["role"] == "attention weights")
    element = browser.find_element(By.CSS_SELECTOR, f'g.node[data-node-id="{weights["id"]}"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    ActionChains(browser).move_to_element(element.find_element(By.CSS_SELECTOR, "ellipse")).click().perform()
    panel = browser.find_element(By.ID, "node-panel")
    assert "(1, 2, 4, 4) float32" in panel.text and "attention weights" in panel.text
    assert "not yet: backward reaches it" in panel.text
    canvases = panel.find_elements(By.TAG_NAME, "canvas")
    assert len(canvases) == 2  # one heatmap per head
    # hover near the bottom-right corner of the first head's map (offsets are from its centre): cell [0, 0, 3, 3]
    first = canvases[0]
    ActionChains(browser).move_to_element_with_offset(first, first.size["width"] // 2 - 3,
                                                      first.size["height"] // 2 - 3).perform()
    tip = browser.find_element(By.ID, "tooltip").text
    assert tip.startswith("[0, 0, 3, 3] = ")
    assert float(tip.split("= ")[1].split()[0]) == pytest.approx(weights["value"][0][0][3][3], rel=1e-3)
    browser.execute_script(f"explorer.step({weights['step']})")
    assert "gradient (of the loss" in panel.text and len(panel.find_elements(By.TAG_NAME, "canvas")) == 4


def test_a_cluster_collapses_in_place_and_expands(browser, pages):
    path, data = pages["transformer"]
    open_page(browser, path)
    inner = [e for e, info in data["drawing"]["nodes"].items() if (info["cluster"] or "").startswith("encoder")]
    assert inner
    cluster = browser.find_element(By.CSS_SELECTOR, 'g.cluster[data-cluster="encoder"]')
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", cluster)
    for element in inner:
        assert not browser.find_element(By.CSS_SELECTOR, f'g.node[data-node-id="{element}"]').is_displayed()
    (box,) = browser.find_elements(By.CSS_SELECTOR, "g.collapsed-box")
    assert box.is_displayed() and "encoder" in box.text
    held = set(box.get_attribute("data-node-ids").split())
    assert held == {n for e in inner for n in data["drawing"]["nodes"][e]["nodes"]}
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", box)
    assert not browser.find_elements(By.CSS_SELECTOR, "g.collapsed-box")
    assert all(browser.find_element(By.CSS_SELECTOR, f'g.node[data-node-id="{e}"]').is_displayed() for e in inner)


def test_screenshot_is_not_blank(browser, pages):
    image_module = pytest.importorskip("PIL.Image")
    path, data = pages["attention"]
    open_page(browser, path)
    browser.execute_script("explorer.step(5)")
    image = image_module.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    coloured = np.count_nonzero(pixels.max(axis=1) - pixels.min(axis=1) > 40)  # not white, grey or black
    assert len(np.unique(pixels, axis=0)) > 50 and coloured > 0.005 * len(pixels)


def test_the_loss_is_stated_at_the_top_and_on_the_loss_node(browser, pages):
    for name in ("attention", "transformer"):
        path, data = pages[name]
        open_page(browser, path)
        words, formula = (" ".join(data["loss"][k].split()) for k in ("words", "formula"))  # as the page lays it out
        top = browser.find_element(By.ID, "loss-statement")
        assert top.is_displayed() and words in top.text and formula in top.text
        browser.execute_script(f"explorer.select({json.dumps(data['loss']['node'])})")
        panel = browser.find_element(By.ID, "node-panel").text
        assert "this is the loss" in panel and formula in panel


def test_gradients_are_explained_where_they_are_met(browser, pages):
    path, data = pages["attention"]
    open_page(browser, path)
    browser.execute_script(f"explorer.step({len(data['steps']) - 1})")
    weights = next(n for n in data["nodes"] if n["role"] == "attention weights")
    browser.execute_script(f"explorer.select({json.dumps(weights['id'])})")
    panel = browser.find_element(By.ID, "node-panel")
    masked = int(np.sum((np.array(weights["value"]) == 0) & (np.array(weights["grad"]) != 0)))
    assert masked > 0 and f"{masked} weights are exactly 0 (masked positions)" in panel.text
    assert "changes the loss L by about" in panel.text
    canvas = panel.find_elements(By.TAG_NAME, "canvas")[-1]  # the gradient of the last head
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    ActionChains(browser).move_to_element_with_offset(canvas, canvas.size["width"] // 2 - 3,
                                                      canvas.size["height"] // 2 - 3).perform()
    tip = browser.find_element(By.ID, "tooltip").text
    g, v = weights["grad"][0][1][3][3], weights["value"][0][1][3][3]
    assert tip.startswith("[0, 1, 3, 3] = ") and "raising the value by ε changes the loss by about" in tip
    assert float(tip.split("value ")[1].split(",")[0]) == pytest.approx(v, rel=1e-3)
    assert float(tip.split("gradient ")[1].split(":")[0]) == pytest.approx(g, rel=1e-3, abs=1e-9)
    bias = next(n for n in data["nodes"] if (n["name"] or "").endswith("k_proj.bias"))
    browser.execute_script(f"explorer.select({json.dumps(bias['id'])})")
    tiny = 0 < bias["grad_summary"]["norm"] < 1e-6
    assert ("softmax ignores a constant added to a whole row" in panel.text) == tiny


def test_the_forward_pass_steps_first_and_its_values_appear(browser, pages):
    path, data = pages["attention"]
    open_page(browser, path)
    forward = data["forward"]
    browser.execute_script("explorer.forwardStart()")
    info = browser.find_element(By.ID, "step-info").text
    assert "Before the forward pass" in info and browser.execute_script("return explorer.current()") is None
    weights = next(n for n in data["nodes"] if n["role"] == "attention weights")
    browser.execute_script(f"explorer.select({json.dumps(weights['id'])})")
    panel = browser.find_element(By.ID, "node-panel")
    k = forward.index(weights["id"])
    assert f"not computed yet: the forward pass reaches it at forward step {k + 1}" in panel.text
    drawn = data["drawn_as"][weights["id"]]
    element = browser.find_element(By.CSS_SELECTOR, f'g.node[data-node-id="{drawn}"]')
    assert "unborn" in element.get_attribute("class")
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(k + 1):
        body.send_keys(Keys.ARROW_RIGHT)
    assert browser.execute_script("return explorer.current()") == weights["id"]
    assert "computing" in element.get_attribute("class")
    assert f"forward {k + 1} / {len(forward)}" in browser.find_element(By.ID, "step-count").text
    assert "not computed yet" not in panel.text and len(panel.find_elements(By.TAG_NAME, "canvas")) == 2
    browser.execute_script(f"explorer.step({-1})")  # forward done; then backward as before
    assert browser.execute_script("return explorer.current()") is None and "unborn" not in element.get_attribute("class")
    body.send_keys(Keys.ARROW_RIGHT)
    assert browser.execute_script("return explorer.current()") == data["steps"][0]["node"]


def test_a_folded_module_is_a_box_its_label_fits_and_steps_zoom_to_a_readable_node(browser, pages):
    path, data = pages["attention"]
    open_page(browser, path)
    browser.execute_script("explorer.toggleCluster('self_attn.q_proj')")
    sizes = browser.execute_script(
        "const g = document.querySelector('g.collapsed-box'); const label = g.querySelector('rect.label').getBBox();"
        "const area = g.querySelector('rect.fold-area').getBBox();"
        "const text = Math.max(...[...g.querySelectorAll('text')].map(t => t.getComputedTextLength()));"
        "return [label.width, label.height, area.width, area.height, text]")
    label_w, label_h, area_w, area_h, text_w = sizes
    assert text_w < label_w <= text_w + 24 and label_h < area_h  # sized to its label, not to the module's area
    browser.execute_script("explorer.toggleCluster('self_attn.q_proj'); explorer.zoom(0.2)")
    for step in (3, len(data["steps"]) // 2):
        browser.execute_script(f"explorer.step({step})")
        node = data["drawn_as"][data["steps"][step]["node"]]
        height = browser.execute_script(
            f"return document.querySelector('g.node[data-node-id=\"{node}\"] text').getBoundingClientRect().height")
        assert height >= 12  # zoomed in until one line of the current node's text can be read


def test_stepping_into_a_folded_module_opens_it_and_leaving_folds_it_back(browser, pages):
    path, data = pages["transformer"]
    open_page(browser, path)
    drawing = data["drawing"]["nodes"]
    cluster_of = {s["index"]: drawing[data["drawn_as"][s["node"]]]["cluster"] or "" for s in data["steps"]}
    inner = next(k for k, c in cluster_of.items() if c.startswith("encoder"))
    outer = next(k for k, c in cluster_of.items() if k > inner and not c.startswith("encoder"))
    browser.execute_script(f"explorer.step({outer}); explorer.toggleCluster('encoder')")
    assert browser.find_elements(By.CSS_SELECTOR, "g.collapsed-box")
    browser.execute_script(f"explorer.step({inner})")
    assert not browser.find_elements(By.CSS_SELECTOR, "g.collapsed-box")  # opened: the current op is drawn
    element = data["drawn_as"][data["steps"][inner]["node"]]
    marked = browser.find_element(By.CSS_SELECTOR, f'g.node[data-node-id="{element}"]')
    assert marked.is_displayed() and "current" in marked.get_attribute("class")
    browser.execute_script(f"explorer.step({outer})")
    (box,) = browser.find_elements(By.CSS_SELECTOR, "g.collapsed-box")  # folded back on leaving
    assert box.get_attribute("data-cluster") == "encoder"


def test_an_op_inside_a_box_drawn_by_collapse_is_shown_in_the_panel(browser, pages):
    path, data = pages["transformer"]
    open_page(browser, path)
    folded = next(s for s in data["steps"] if data["drawn_as"][s["node"]] != s["node"]
                  and len(data["drawing"]["nodes"][data["drawn_as"][s["node"]]]["nodes"]) > 1)
    browser.execute_script(f"explorer.step({folded['index']})")
    panel = browser.find_element(By.ID, "node-panel").text
    title = next(n["title"] for n in data["nodes"] if n["id"] == folded["node"])
    assert panel.startswith(title) and "Drawn inside the box" in panel
    assert "click the box to expand" not in browser.find_element(By.ID, "help-panel").text


def test_a_parameter_panel_prints_no_null_and_an_all_zero_tensor_says_so(browser, pages):
    path, data = pages["transformer"]
    open_page(browser, path)
    params = [n for n in data["nodes"] if n["kind"] == "parameter"]
    zero = next(n for n in params if n["summary"] and n["summary"]["norm"] == 0)  # a bias starts at 0
    for node in params:
        browser.execute_script(f"explorer.select('{node['id']}')")
        lines = browser.find_element(By.ID, "node-panel").text.splitlines()
        assert "null" not in lines and not any("−0 …" in line for line in lines), node["title"]
        if node is zero:
            assert "all zero (white)" in lines[lines.index("forward value") + 1:]
