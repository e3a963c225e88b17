"""The HTML report in a real browser (Debian's Chromium driven by Playwright), with the
network blocked: it must work offline, draw every point, show a point's image on hover,
hide a class from the legend, show a box selection as a grid, and show hostile labels as
text without running them."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from autoencoders.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "plain"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium here: apt-get install chromium (make test does "
                             "when it runs as root)")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A digits run with a map, whose labels are hostile strings."""
    from sklearn.datasets import load_digits

    folder = tmp_path_factory.mktemp("report")
    digits = load_digits()
    X = np.rint(digits.images[:600] * (255 / 16)).astype(np.uint8)
    y = np.array([HOSTILE[d % 3] for d in digits.target[:600]], dtype=object).astype(str)
    np.savez(folder / "digits.npz", X=X, y=y)
    code = main(["fit", "--input", str(folder / "digits.npz"), "--out", str(folder / "run"),
                 "--epochs", "30", "--map", "-q", "--latent-dim", "8"])
    assert code == 0
    return folder / "run"


@pytest.fixture(scope="module")
def page(run, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1100})
        events = {"requests": [], "errors": [], "dialogs": []}
        tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            "file:") else (events["requests"].append(route.request.url), route.abort()))
        tab.on("console", lambda m: events["errors"].append(m.text) if m.type == "error"
               else None)
        tab.on("pageerror", lambda e: events["errors"].append(str(e)))
        tab.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
        tab.goto((run / "report.html").as_uri())
        tab.wait_for_selector("body[data-ready=true]", timeout=60_000)
        tab.events = events
        yield tab
        browser.close()


def _point_position(page, trace: int, point: int) -> tuple[float, float]:
    """Where a point of the map is drawn, in page pixels."""
    return page.evaluate("""([t, i]) => {
        const gd = document.getElementById('map-0'), L = gd._fullLayout;
        const box = gd.getBoundingClientRect();
        return [box.left + L._size.l + L.xaxis.l2p(gd.data[t].x[i]),
                box.top + L._size.t + L.yaxis.l2p(gd.data[t].y[i])];
    }""", [trace, point])


def test_the_page_is_one_file_that_works_offline(run, page):
    assert page.events["requests"] == [] and page.events["errors"] == []
    html = (run / "report.html").read_text()
    assert "<script src=" not in html and "<link" not in html  # everything inline
    assert "uint8 pixels divided by 255" in html  # the input as the model took it
    assert (run / "report.html").stat().st_size < 10_000_000


def test_the_map_draws_one_point_per_test_image(run, page):
    n_test = len(np.load(run / "codes" / "test.npy"))
    drawn = page.evaluate("""() => document.getElementById('map-0').data
        .filter((t) => t.legendgroup === 'label').reduce((n, t) => n + t.x.length, 0)""")
    assert drawn == n_test == int(page.get_attribute("#map-0", "data-points"))


def _lone_point(page) -> tuple[int, int]:
    """A point in the middle of the map with no other within 12 pixels (so hovering it
    shows it alone, away from the legend and the tool bar): (trace, index)."""
    return page.evaluate("""() => {
        const gd = document.getElementById('map-0'), L = gd._fullLayout, pts = [];
        gd.data.forEach((t, ti) => t.visible !== false && t.x.forEach((x, i) =>
            pts.push([ti, i, L.xaxis.l2p(x), L.yaxis.l2p(t.y[i])])));
        const inner = (p) => p[2] > 0.2 * L.xaxis._length && p[2] < 0.8 * L.xaxis._length
            && p[3] > 0.2 * L.yaxis._length && p[3] < 0.8 * L.yaxis._length;
        const lone = pts.find((p) => inner(p) && pts.every((q) => q === p ||
            Math.hypot(p[2] - q[2], p[3] - q[3]) > 12));
        return lone ? [lone[0], lone[1]] : null;
    }""")


def test_hovering_a_point_shows_its_image_and_label(page, tmp_path):
    page.locator("#map-0").scroll_into_view_if_needed()
    trace, point = _lone_point(page)  # (a TypeError here: no lone point to hover)
    x, y = _point_position(page, trace, point)
    expected = page.evaluate(
        f"() => document.getElementById('map-0').data[{trace}].customdata[{point}]")
    start = page.evaluate("() => performance.now()")
    page.mouse.move(x, y)
    page.wait_for_function(f"document.getElementById('hover-0').dataset.index === '{expected}'",
                           timeout=10_000)
    shown = float(page.get_attribute("#hover-0", "data-shown-at"))
    print(f"hover to image: {shown - start:.1f} ms")
    fields = page.inner_text("#hover-0 table.fields")
    label = page.evaluate(f"() => DATA.runs[0].labels[{expected}]")
    assert label in fields  # a hostile label shows as text
    drawn = page.evaluate("""() => { const c = document.querySelector('#hover-0 canvas.input');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return d.some((v, k) => k % 4 !== 3 && v > 0); }""")
    assert drawn
    page.screenshot(path=str(tmp_path / "report-hover.png"))
    assert os.path.getsize(tmp_path / "report-hover.png") > 10_000


def test_hostile_labels_are_text_and_run_nothing(page):
    legend = page.text_content("#map-0 .legend")
    assert HOSTILE[0] in legend and HOSTILE[1] in legend
    assert page.events["dialogs"] == []
    assert page.evaluate("() => document.querySelectorAll('#map-0 img, body > img').length") == 0


def test_clicking_a_class_in_the_legend_hides_its_points(page):
    page.locator("#map-0 .legend .traces").first.click()
    page.wait_for_function("document.getElementById('map-0').data[0].visible === 'legendonly'",
                           timeout=10_000)
    page.locator("#map-0 .legend .traces").first.click()
    page.wait_for_function("document.getElementById('map-0').data[0].visible === true",
                           timeout=10_000)


def test_a_box_selection_shows_its_points_as_a_grid(run, page):
    page.locator("#map-0").hover()
    page.locator("#map-0 .modebar-btn[data-title='Box Select']").click()
    box = page.locator("#map-0 .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=8)
    page.mouse.move(box["x"] + box["width"] - 5, box["y"] + box["height"] - 5, steps=8)
    page.mouse.up()
    page.wait_for_function("document.getElementById('selection-0').dataset.selected > 0",
                           timeout=10_000)
    selected = int(page.get_attribute("#selection-0", "data-selected"))
    thumbs = page.locator("#selection-0 .thumbs canvas").count()
    n_test = len(np.load(run / "codes" / "test.npy"))
    assert thumbs == min(selected, 300) and selected >= 0.9 * n_test  # the box spans the map


def test_the_maps_classes_have_the_order_and_colours_of_the_png_figures(run, page):
    from html import unescape

    from matplotlib.colors import to_hex

    from autoencoders.plotting import plot_maps

    y = np.load(run / "codes" / "test_labels.npy")
    drawn = page.evaluate("""() => document.getElementById('map-0').data
        .filter((t) => t.legendgroup === 'label').map((t) => [t.name, t.marker.color])""")
    legend = plot_maps({"map": np.zeros((len(y), 2))}, y, None).legends[0]
    png = [(t.get_text(), to_hex(h.get_color()))
           for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)]
    assert [(unescape(name), colour) for name, colour in drawn] == png
    assert [name for name, _ in png] == sorted(set(y))


@pytest.mark.parametrize("chart", ["curves-0-epoch", "curves-0-time", "map-0"])
def test_a_charts_legend_is_clear_of_plotlys_tool_bar(page, chart):
    page.locator(f"#{chart}").scroll_into_view_if_needed()
    page.locator(f"#{chart}").hover()
    bar = page.locator(f"#{chart} .modebar").bounding_box()
    legend = page.locator(f"#{chart} .legend").bounding_box()
    assert bar is not None and legend is not None
    apart = (legend["x"] >= bar["x"] + bar["width"] or bar["x"] >= legend["x"] + legend["width"]
             or legend["y"] >= bar["y"] + bar["height"]
             or bar["y"] >= legend["y"] + legend["height"])
    assert apart, (bar, legend)
