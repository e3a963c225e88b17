"""The HTML report in headless Chromium: its size, how long it takes to load, and how
quickly hovering a point of the map shows that point's image.

Opens RUN_DIR/report.html (default runs/demo, the report ``make demo`` writes: 10,000 test
points with thumbnails) in Debian's Chromium through Playwright with the network blocked,
and measures

- the page's size in bytes;
- load time: from navigation to the page's ``data-ready`` flag (every figure drawn), the
  median of ``--repeats`` fresh loads;
- hover round trip: from the mouse arriving on a point to its image being drawn in the
  hover panel (the page records the time it drew it), the median and maximum over
  ``--hovers`` different points;
- pan and zoom: milliseconds per frame while dragging the map, from the browser's
  animation frames.

Prints a table, writes benchmarks/results/report.md (and report.json) and a screenshot of
the map with a point hovered to docs/images/report.png.

Usage: python benchmarks/report_page.py [RUN_DIR] [--repeats 3] [--hovers 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

from _results import machine, write_results  # benchmarks/_results.py

HERE = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _open(browser, page_path: Path, blocked: list):
    tab = browser.new_page(viewport={"width": 1400, "height": 1000})
    tab.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        "file:") else (blocked.append(route.request.url), route.abort()))
    start = time.perf_counter()
    tab.goto(page_path.as_uri())
    tab.wait_for_selector("body[data-ready=true]", timeout=120_000)
    return tab, 1000 * (time.perf_counter() - start)


def _point(tab, trace: int, i: int):
    return tab.evaluate("""([t, i]) => {
        const gd = document.getElementById('map-0'), L = gd._fullLayout;
        const box = gd.getBoundingClientRect();
        return [box.left + L._size.l + L.xaxis.l2p(gd.data[t].x[i]),
                box.top + L._size.t + L.yaxis.l2p(gd.data[t].y[i]),
                gd.data[t].customdata[i]];
    }""", [trace, i])


def _hover_ms(tab, n: int) -> list[float]:
    tab.locator("#map-0").scroll_into_view_if_needed()
    # The label traces: the cluster and score colourings are hidden copies of the points.
    traces = tab.evaluate("""() => document.getElementById('map-0').data
        .map((t, i) => t.visible === false ? -1 : i).filter((i) => i >= 0)""")
    times = []
    for k in range(n):
        trace = traces[k % len(traces)]
        size = tab.evaluate(f"() => document.getElementById('map-0').data[{trace}].x.length")
        if not size:
            continue
        x, y, index = _point(tab, trace, (k * 7919) % size)
        tab.mouse.move(5, 5)  # off the map, so that each hover is a new one
        start = tab.evaluate("() => performance.now()")
        tab.mouse.move(x, y)
        try:
            tab.wait_for_function(
                f"document.getElementById('hover-0').dataset.index === '{index}'",
                timeout=5_000)
        except Exception:  # another point drawn on top of this one: skip it
            continue
        times.append(float(tab.get_attribute("#hover-0", "data-shown-at")) - start)
    return times


def _pan_frame_ms(tab) -> float:
    """Mean milliseconds between animation frames while the map is dragged."""
    box = tab.locator("#map-0 .nsewdrag").first.bounding_box()
    tab.evaluate("""() => { window.__frames = [];
        const tick = (t) => { window.__frames.push(t);
                              window.__raf = requestAnimationFrame(tick); };
        window.__raf = requestAnimationFrame(tick); }""")
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    tab.mouse.move(cx, cy)
    tab.mouse.down()
    tab.mouse.move(cx + 200, cy + 120, steps=40)
    tab.mouse.move(cx - 150, cy - 80, steps=40)
    tab.mouse.up()
    frames = tab.evaluate("() => { cancelAnimationFrame(window.__raf); return window.__frames; }")
    gaps = [b - a for a, b in zip(frames, frames[1:], strict=False)]
    return statistics.mean(gaps) if gaps else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default="runs/demo")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hovers", type=int, default=20)
    parser.add_argument("--screenshot", default=str(HERE.parent / "docs" / "images" /
                                                   "report.png"))
    args = parser.parse_args()
    page_path = Path(args.run_dir, "report.html").resolve()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or not page_path.exists():
        sys.exit(f"needs Chromium ({chromium}) and {page_path} (run make demo first)")
    from playwright.sync_api import sync_playwright

    blocked, loads = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        for _ in range(args.repeats):
            tab, ms = _open(browser, page_path, blocked)
            loads.append(ms)
            tab.close()
        tab, _ = _open(browser, page_path, blocked)
        points = tab.get_attribute("#map-0", "data-points")
        hovers = _hover_ms(tab, args.hovers)
        frame = _pan_frame_ms(tab)
        tab.reload()
        tab.wait_for_selector("body[data-ready=true]", timeout=120_000)
        tab.locator("#map-0").scroll_into_view_if_needed()
        x, y, _ = _point(tab, 0, 0)
        tab.mouse.move(x, y)
        tab.wait_for_timeout(500)
        Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
        tab.locator("#map-0").locator("xpath=..").screenshot(path=args.screenshot)
        browser.close()
    result = {"page": str(page_path), "bytes": page_path.stat().st_size,
              "points": int(points), "load_ms": loads, "hover_ms": hovers,
              "pan_frame_ms": frame, "blocked_requests": blocked,
              "screenshot": args.screenshot}
    m = machine()
    text = "\n".join([
        "# The report in headless Chromium", "",
        f"{m['cpu']}, {m['cores']} cores, {m['date']}; `{m['command']}`; Chromium "
        f"{chromium}, network blocked.", "",
        "| measure | value |", "| --- | --- |",
        f"| page | `{args.run_dir}/report.html`, {result['bytes']:,} bytes |",
        f"| points on the map | {result['points']:,} |",
        f"| load to every figure drawn, median of {len(loads)} | "
        f"{statistics.median(loads):,.0f} ms |",
        f"| hover → image drawn, median / max of {len(hovers)} points | "
        f"{statistics.median(hovers):.1f} / {max(hovers):.1f} ms |" if hovers else
        "| hover → image drawn | no point measured |",
        f"| dragging the map, ms per animation frame | {frame:.1f} |",
        f"| requests that tried to leave the page | {len(blocked)} |", ""])
    print(text)
    write_results(HERE / "results" / "report.md", result, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
