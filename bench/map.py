"""Map benchmark: 2,000 search results on the map in headless Chromium, ours against folium's default.

Ours: the search page as the app serves it (folium map inline, markers as one JSON array drawn by
static/js/map.js into a cluster group, Leaflet from the xstatic packages). The default: the same 2,000
results as folium's usual output, one `folium.Marker` (popup and tooltip) per result, rendered by
`get_root().render()`. Both with no tiles, in the same browser, in the same run. Measured: bytes of the
page plus its marker data, and the time from navigation start until every marker (or a cluster holding
it) is drawn. Screenshots go to bench/results/ (PNG, not committed).
"""

from __future__ import annotations

import html
import json
import os
import statistics
import time
import urllib.request
from pathlib import Path

from .common import FULL, Run, seeded_sqlite
from .server import live_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVICES = 2000
RUNS = 5
SHOTS = (
    ("map-search", {"width": 1280, "height": 900}, None),
    ("map-search-zoomed", {"width": 1280, "height": 900}, 16),
    ("map-search-mobile", {"width": 390, "height": 844}, None),
)
# The smoke: a small city, one cold load of each page after no warm-up, and the zoomed screenshot.
SMOKE_SERVICES, SMOKE_RUNS, SMOKE_SHOTS = 150, 1, SHOTS[1:2]
TARGET_BYTES = 800 * 1024
TARGET_SECONDS = 2.0
QUERY = "/search?near=47.6062,-122.3321&radius_km=200"
CDN_LEAFLET = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/"
DEBIAN_JQUERY = "/usr/share/javascript/jquery/jquery.min.js"
# All folium's popups ask of jQuery: $(`<div ...>`)[0].
JQUERY_SHIM = (
    "window.$ = function (h) { var t = document.createElement('template'); t.innerHTML = h.trim();"
    " return [t.content.firstChild]; };"
)

# In the page: how many results are drawn, as single markers or inside drawn clusters.
DRAWN_OURS = """() => {
  const box = document.getElementById('map');
  if (!box) return 0;
  let n = box.querySelectorAll('.pin-icon').length;
  for (const c of box.querySelectorAll('.cluster-pin')) n += Number(c.dataset.count);
  return n;
}"""
ZOOM_TO_LEAD = """(zoom) => {
  const data = JSON.parse(document.getElementById('map').dataset.markers);
  const lead = data.statuses.findIndex((s) => s.code === 'lead_funded');
  const row = data.markers.find((m) => m[3] === lead) || data.markers[0];
  DirectoryMap.map.setView([row[1], row[2]], zoom, {animate: false});
}"""
DRAWN_DEFAULT = "() => document.querySelectorAll('.leaflet-marker-icon').length"


def launch_chromium(playwright):
    """Debian's Chromium, headless, with nothing phoning home."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def drawn_time(page, drawn_js: str, expected: int, timeout_ms: int = 30_000) -> float:
    """Seconds from navigation start until `expected` results are drawn (checked every frame)."""
    handle = page.wait_for_function(
        f"(n) => ({drawn_js})() >= n ? performance.now() : false",
        arg=expected,
        polling="raf",
        timeout=timeout_ms,
    )
    return handle.json_value() / 1000


def default_html(data: dict) -> str:
    """folium's default output for the same markers: one Marker with popup and tooltip per result."""
    import folium

    rows = data["markers"]
    fmap = folium.Map(location=[rows[0][1], rows[0][2]], zoom_start=12, tiles=None)
    for row in rows:
        label = data["statuses"][row[3]]["label"]
        text = html.escape(f"{row[5]} · {label}")
        folium.Marker([row[1], row[2]], popup=folium.Popup(text), tooltip=text).add_to(fmap)
    fmap.fit_bounds(
        [
            [min(r[1] for r in rows), min(r[2] for r in rows)],
            [max(r[1] for r in rows), max(r[2] for r in rows)],
        ]
    )
    return fmap.get_root().render()


def serve_cdn(route) -> None:
    """Offline stand-in for the CDNs: Leaflet from the xstatic package, jQuery (its popups need it) from
    Debian's libjs-jquery or a two-line shim, the rest empty (not counted, in the default's favour)."""
    from xstatic.pkg import leaflet

    url = route.request.url
    if url.startswith(CDN_LEAFLET):
        path = Path(leaflet.BASE_DIR) / url[len(CDN_LEAFLET) :].split("?")[0]
        if path.is_file():
            route.fulfill(path=str(path))
            return
    if "jquery" in url and url.endswith(".js"):
        if Path(DEBIAN_JQUERY).is_file():
            route.fulfill(path=DEBIAN_JQUERY, content_type="application/javascript")
        else:
            route.fulfill(status=200, body=JQUERY_SHIM, content_type="application/javascript")
        return
    kind = "text/css" if url.endswith(".css") else "application/javascript"
    route.fulfill(status=200, body="", content_type=kind)


def measure(browser, url: str, drawn_js: str, expected: int, html_body: str | None = None) -> dict:
    """One cold load in a fresh context: bytes received by origin kind, and the drawn time."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    responses = []
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda response: responses.append(response))
    if html_body is not None:
        page.route(url, lambda route: route.fulfill(status=200, body=html_body, content_type="text/html"))
    page.route("https://**/*", serve_cdn)
    page.goto(url, wait_until="commit")
    seconds = drawn_time(page, drawn_js, expected)
    page.wait_for_load_state("load")
    response_end = page.evaluate("() => performance.getEntriesByType('navigation')[0].responseEnd") / 1000
    sizes = {}
    for response in responses:
        try:
            sizes[response.url] = len(response.body())
        except Exception:  # noqa: BLE001, S112 - a redirect or an aborted request has no body
            continue
    context.close()
    if errors:
        raise RuntimeError(f"page errors on {url}: {errors[:3]}")
    return {
        "seconds": seconds,
        "document_seconds": response_end,
        "page_bytes": sizes.get(url, 0),
        "all_bytes": sum(sizes.values()),
        "requests": len(sizes),
    }


def screenshots(browser, base: str, folder: Path, shots=SHOTS) -> list[str]:
    """The search page at desktop and phone sizes, and zoomed in to single markers."""
    paths = []
    for name, viewport, zoom in shots:
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(base + QUERY)
        page.wait_for_selector("#map[data-ready=true]", state="attached")
        page.locator("#map").scroll_into_view_if_needed()
        if zoom:
            # Zoom in on a LEAD-funded result, so single markers of several statuses are in the frame.
            page.evaluate(ZOOM_TO_LEAD, zoom)
            page.wait_for_timeout(600)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path))
        paths.append(str(path))
        context.close()
    return paths


def main(run: Run = FULL) -> None:
    """Run ours and the default RUNS times each, alternating; write <results>/map.json."""
    from playwright.sync_api import sync_playwright

    services, runs = run.pick((SERVICES, RUNS), (SMOKE_SERVICES, SMOKE_RUNS))
    print(f"map benchmark ({services} results, headless Chromium, no tiles)")
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: `make browser-deps` installs it")
    db_path = seeded_sqlite(services, "metro", cache=run.cache)
    with live_server(f"sqlite:///{db_path}", {"MAP_TILES": "none"}) as base:
        with urllib.request.urlopen(base + QUERY, timeout=60) as response:
            page = response.read().decode()
        marker_json = html.unescape(page.split("data-markers='", 1)[1].split("'", 1)[0])
        data = json.loads(marker_json)
        expected = len(data["markers"])
        started = time.perf_counter()
        folium_page = default_html(data)
        default_render_s = time.perf_counter() - started
        ours, default = [], []
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            if not run.smoke:
                measure(browser, base + QUERY, DRAWN_OURS, expected)  # warm-up: server caches, browser start
            for _ in range(runs):
                ours.append(measure(browser, base + QUERY, DRAWN_OURS, expected))
                default.append(
                    measure(browser, base + "/bench-folium-default", DRAWN_DEFAULT, expected, folium_page)
                )
            run.results.mkdir(parents=True, exist_ok=True)
            shots = screenshots(browser, base, run.results, run.pick(SHOTS, SMOKE_SHOTS))
            browser.close()

    def summary(runs: list[dict]) -> dict:
        return {
            "page_bytes": runs[0]["page_bytes"],
            "all_bytes_received": runs[0]["all_bytes"],
            "requests": runs[0]["requests"],
            "drawn_seconds_median": round(statistics.median(r["seconds"] for r in runs), 3),
            "drawn_seconds_max": round(max(r["seconds"] for r in runs), 3),
            "drawn_seconds_runs": [round(r["seconds"], 3) for r in runs],
            "document_received_seconds_median": round(
                statistics.median(r["document_seconds"] for r in runs), 3
            ),
            "browser_seconds_median": round(
                statistics.median(r["seconds"] - r["document_seconds"] for r in runs), 3
            ),
        }

    result_ours, result_default = summary(ours), summary(default)
    result_ours["marker_data_bytes"] = len(marker_json.encode())
    result_default["python_render_seconds"] = round(default_render_s, 3)
    checks = {
        "bytes_within_target": result_ours["page_bytes"] <= TARGET_BYTES,
        "time_within_target": result_ours["drawn_seconds_max"] <= TARGET_SECONDS,
        "fewer_bytes_than_default": result_ours["page_bytes"] < result_default["page_bytes"],
        # In the browser alone (document received -> all drawn), and end to end, where the default's
        # page must also be rendered by folium on the server (its search is not even counted).
        "faster_in_browser_than_default": result_ours["browser_seconds_median"]
        < result_default["browser_seconds_median"],
        "faster_end_to_end_than_default": result_ours["drawn_seconds_median"]
        < result_default["drawn_seconds_median"] + result_default["python_render_seconds"],
    }
    path = run.write(
        "map",
        {
            "results": expected,
            "query": QUERY,
            "runs": runs,
            "targets": {"page_bytes_max": TARGET_BYTES, "drawn_seconds_max": TARGET_SECONDS},
            "ours": result_ours,
            "folium_default": result_default,
            "checks": checks,
            "notes": (
                "page_bytes: the HTML document, which carries the marker data (ours: one JSON array in a "
                "data attribute; default: one JS block per marker). all_bytes_received adds scripts and "
                "styles: ours from the app (xstatic Leaflet, markercluster, map.js, app.css); the default's "
                "Leaflet is served from the same package and its other CDN files (jQuery, Bootstrap, "
                "Font Awesome, awesome-markers) are stubbed empty offline, in its favour. "
                "drawn_seconds: from navigation start until every result is drawn as a marker or "
                "inside a drawn cluster; ours "
                "includes the server's search and page, the default's document comes from memory (its "
                "folium render on a server is python_render_seconds). browser_seconds: from the document "
                "received until all drawn."
            ),
            "screenshots": [Path(p).name for p in shots],
        },
    )
    print(f"{'':<16}{'page KB':>10}{'all KB':>10}{'drawn s (median/max)':>24}{'browser s':>11}")
    for name, r in (("ours", result_ours), ("folium default", result_default)):
        print(
            f"{name:<16}{r['page_bytes'] / 1024:>10.1f}{r['all_bytes_received'] / 1024:>10.1f}"
            f"{r['drawn_seconds_median']:>14.3f} / {r['drawn_seconds_max']:<8.3f}"
            f"{r['browser_seconds_median']:>11.3f}"
        )
    print(f"folium default: {result_default['python_render_seconds']:.3f} s to render the page in Python")
    print("checks: " + ", ".join(f"{k}={'ok' if v else 'FAILED'}" for k, v in checks.items()))
    print(f"results: {path}; screenshots: {', '.join(shots)}")


if __name__ == "__main__":
    main()
