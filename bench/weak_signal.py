"""Weak-signal benchmark: the search page on throttled networks, cold, warm and from the service worker.

Headless Chromium on a 390x844 phone, network throttled through the DevTools protocol
(Network.emulateNetworkConditions): Slow 3G = 2,000 ms latency, 500 kbit/s down and up; Fast 3G = 562.5 ms,
1.44 Mbit/s down, 675 kbit/s up. URL: /search?near=98104&category=housing on the demo site (300 services),
MAP_TILES=none (tiles are a third party's). Each figure is taken for this code and, in the same run, for
the code before issue 25 (commit BASELINE, extracted with `git archive` and served the same way):

- list visible: from navigation start until the first result is laid out inside the screen and painted
  (the later of first contentful paint and the first animation frame that finds it), cold (fresh browser
  context), and warm from the worker's cache (a second visit of the same context);
- bytes on the wire: every byte the server sent (headers included), counted by a TCP proxy in front of it,
  so the worker's own fetches count too; cold = first visit until the map is drawn and the network idle;
  warm = the second visit, same.
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import tarfile
import threading
import time
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

from .common import FULL, Run, seeded_sqlite
from .map import CHROMIUM, launch_chromium
from .server import ROOT, live_server

BASELINE = "b1c0e84"
QUERY = "/search?near=98104&category=housing"
PHONE = {"width": 390, "height": 844}
PROFILES = {
    "slow_3g": {"latency": 2000, "downloadThroughput": 500_000 / 8, "uploadThroughput": 500_000 / 8},
    "fast_3g": {"latency": 562.5, "downloadThroughput": 1_440_000 / 8, "uploadThroughput": 675_000 / 8},
}
TARGETS = {"slow_3g_s": 3.0, "fast_3g_s": 1.2, "worker_cache_s": 0.5, "cold_kb": 120, "warm_kb": 25}
RUNS, SMOKE_RUNS = 3, 1
SERVICES = 300

# In the page from its first moment (an init script, before any of the page's own): the time of the first
# animation frame in which the first result is laid out on screen. Frames are not run while rendering is
# blocked, so this is the frame that paints it.
WATCH_LIST = """(() => {
  const tick = () => {
    const item = document.querySelector('#result-list .result');
    if (item) {
      const box = item.getBoundingClientRect();
      if (box.height > 0 && box.top < innerHeight && box.bottom > 0) {
        window.__listFrame = performance.now();
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();"""
# Seconds from navigation start until the first result is on screen and painted: the later of that frame
# and the first contentful paint.
LIST_VISIBLE = """() => {
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  if (!window.__listFrame || !paint) return false;
  return Math.max(paint.startTime, window.__listFrame) / 1000;
}"""
MAP_DRAWN = "() => { const m = document.getElementById('map'); return !!(m && m.dataset.ready === 'true'); }"


class CountingProxy:
    """A TCP proxy on a free loopback port that counts the bytes each way (what the wire carried)."""

    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.down = 0
        self.up = 0
        self.lock = threading.Lock()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        """Start counting from zero."""
        with self.lock:
            self.down = self.up = 0

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, upstream, "up"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, "down"), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, way: str) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                with self.lock:
                    if way == "down":
                        self.down += len(chunk)
                    else:
                        self.up += len(chunk)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop accepting."""
        self.open = False
        self.server.close()


@contextmanager
def baseline_tree(cache: Path):
    """The code of commit BASELINE, extracted from git into a temporary folder."""
    folder = cache / f"baseline-{BASELINE}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    archive = folder / "code.tar"
    subprocess.run(["git", "archive", "-o", str(archive), BASELINE], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    archive.unlink()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def wait_idle(proxy: CountingProxy, quiet: float = 1.0, limit: float = 60) -> None:
    """Until no byte has moved for `quiet` seconds."""
    deadline = time.monotonic() + limit
    last = (-1, -1)
    since = time.monotonic()
    while time.monotonic() < deadline:
        now = (proxy.down, proxy.up)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


def throttle(page, profile: str | None):
    """Apply a network profile to the page through the DevTools protocol."""
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    if profile:
        session.send("Network.emulateNetworkConditions", {"offline": False, **PROFILES[profile]})
    return session


def list_visible(page, timeout_ms: int = 60_000) -> float:
    """Seconds from navigation start until the first result is on screen and painted."""
    return page.wait_for_function(LIST_VISIBLE, polling="raf", timeout=timeout_ms).json_value()


def visit(context, url: str, profile: str | None, proxy: CountingProxy, with_map: bool) -> dict:
    """One visit in the context: the list's time; then (with_map) the map scrolled to and drawn; bytes."""
    page = context.new_page()
    throttle(page, profile)
    proxy.reset()
    page.goto(url, wait_until="commit", timeout=90_000)
    seconds = list_visible(page)
    if with_map:
        page.wait_for_load_state("load", timeout=90_000)
        page.evaluate("() => document.getElementById('map').scrollIntoView()")
        page.wait_for_function(MAP_DRAWN, timeout=90_000)
    page.wait_for_load_state("load", timeout=90_000)
    wait_idle(proxy, quiet=2.5 if profile == "slow_3g" else 1.5)
    result = {"list_visible_s": round(seconds, 3), "bytes_down": proxy.down, "bytes_up": proxy.up}
    page.close()
    return result


def measure(browser, base: str, proxy: CountingProxy, profile: str, worker: bool) -> dict:
    """A cold visit (fresh context) and a warm one (same context: HTTP cache and, if any, the worker)."""
    context = browser.new_context(viewport=PHONE, has_touch=True, service_workers="allow")
    context.add_init_script(WATCH_LIST)
    try:
        cold = visit(context, base + QUERY, profile, proxy, with_map=True)
        if worker:
            # The worker installs after the first load; its first search is kept once it controls a page.
            page = context.new_page()
            page.goto(base + "/offline")
            page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
            page.close()
            cold_again = visit(context, base + QUERY, profile, proxy, with_map=True)
            del cold_again  # the visit that stores the search (the first was before the worker)
        warm = visit(context, base + QUERY, profile, proxy, with_map=True)
    finally:
        context.close()
    return {"cold": cold, "warm": warm}


def run_side(browser, base: str, proxy: CountingProxy, runs: int, worker: bool, profiles) -> dict:
    """Every profile, `runs` times: medians of the list's time and the bytes."""
    side = {}
    for profile in profiles:
        rows = [measure(browser, base, proxy, profile, worker) for _ in range(runs)]
        side[profile] = {
            "cold_list_visible_s": round(statistics.median(r["cold"]["list_visible_s"] for r in rows), 3),
            "warm_list_visible_s": round(statistics.median(r["warm"]["list_visible_s"] for r in rows), 3),
            "cold_bytes": int(statistics.median(r["cold"]["bytes_down"] for r in rows)),
            "warm_bytes": int(statistics.median(r["warm"]["bytes_down"] for r in rows)),
            "runs": rows,
        }
    return side


@contextmanager
def proxied(database_url: str, root: Path | None = None):
    """A live server (this code, or the tree at root) behind a counting proxy: (proxy base URL, proxy)."""
    env = {"MAP_TILES": "none"}
    if root is not None:
        env["PYTHONPATH"] = str(root)
    with live_server(database_url, env, cwd=root) as base:
        # Warm the server (its first map imports folium): the figures are the network's, not a cold process.
        for _ in range(2):
            with urllib.request.urlopen(base + QUERY, timeout=120) as response:
                response.read()
        proxy = CountingProxy(int(base.rsplit(":", 1)[1]))
        try:
            yield f"http://127.0.0.1:{proxy.port}", proxy
        finally:
            proxy.close()


def main(run: Run = FULL) -> None:
    """Measure this code and the baseline commit; write <results>/weak_signal.json."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: `make browser-deps` installs it")
    runs = run.pick(RUNS, SMOKE_RUNS)
    # The smoke runs the same code path unthrottled (its figures mean nothing) and skips the baseline.
    profiles = run.pick(tuple(PROFILES), (None,))
    print(f"weak-signal benchmark ({SERVICES} demo services, phone, {', '.join(map(str, profiles))})")
    db_path = seeded_sqlite(SERVICES, "metro", cache=run.cache)
    results: dict = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        with proxied(f"sqlite:///{db_path}") as (base, proxy):
            results["after"] = run_side(browser, base, proxy, runs, True, profiles)
        if not run.smoke:
            with baseline_tree(run.cache) as tree, proxied(f"sqlite:///{db_path}", tree) as (base, proxy):
                results["before"] = run_side(browser, base, proxy, runs, False, profiles)
        browser.close()
    after = results["after"]
    checks = {}
    if not run.smoke:
        checks = {
            "slow_3g_list_within_target": after["slow_3g"]["cold_list_visible_s"] <= TARGETS["slow_3g_s"],
            "fast_3g_list_within_target": after["fast_3g"]["cold_list_visible_s"] <= TARGETS["fast_3g_s"],
            "worker_cache_within_target": after["slow_3g"]["warm_list_visible_s"]
            <= TARGETS["worker_cache_s"],
            "cold_bytes_within_target": after["slow_3g"]["cold_bytes"] <= TARGETS["cold_kb"] * 1024,
            "warm_bytes_within_target": after["slow_3g"]["warm_bytes"] <= TARGETS["warm_kb"] * 1024,
        }
    path = run.write(
        "weak_signal",
        {
            "query": QUERY,
            "services": SERVICES,
            "viewport": PHONE,
            "profiles": PROFILES,
            "baseline_commit": BASELINE,
            "targets": TARGETS,
            **results,
            "checks": checks,
            "notes": (
                "list_visible_s: navigation start -> first result on screen and painted. Warm: a second "
                "visit in the same browser context (HTTP cache; after: the worker answers from its "
                "cache, its revalidation behind it counted in the bytes). Bytes: all the server sent, "
                "headers included, until the map is drawn and the network idle (counting proxy)."
            ),
        },
    )
    print(f"{'':<22}{'cold list s':>12}{'warm list s':>12}{'cold KB':>10}{'warm KB':>10}")
    for side in ("before", "after"):
        for profile, row in results.get(side, {}).items():
            print(
                f"{side + ' ' + str(profile):<22}{row['cold_list_visible_s']:>12.3f}"
                f"{row['warm_list_visible_s']:>12.3f}{row['cold_bytes'] / 1024:>10.1f}"
                f"{row['warm_bytes'] / 1024:>10.1f}"
            )
    if checks:
        print("checks: " + ", ".join(f"{k}={'ok' if v else 'FAILED'}" for k, v in checks.items()))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
