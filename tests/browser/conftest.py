"""Browser fixtures: Debian's Chromium through Playwright, and the app as a real server on a loopback port.

Without /usr/bin/chromium the browser tests skip with the reason; under CI=true they fail instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest

from bench.map import CHROMIUM, launch_chromium

# A 1x1 transparent PNG, the stand-in for every map tile (no request leaves the machine).
TILE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def require_chromium() -> None:
    """Skip when Debian's Chromium is missing, with the reason; under CI=true, fail instead."""
    if not os.path.exists(CHROMIUM):
        reason = f"browser tests need {CHROMIUM}: `make browser-deps` installs it (root and apt)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium for the session."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = launch_chromium(playwright)
    yield chromium
    chromium.close()
    playwright.stop()


@dataclass
class Watched:
    """A page with what it logged and asked for."""

    page: object
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser):
    """Open pages in fresh contexts that record console errors, requests and dialogs; tiles are faked."""
    contexts = []

    def opener(url: str, width: int = 1280, height: int = 900, tiles: str = "fake") -> Watched:
        context = browser.new_context(viewport={"width": width, "height": height}, has_touch=width < 600)
        contexts.append(context)
        page = context.new_page()
        watched = Watched(page)
        page.on("console", lambda m: m.type == "error" and watched.console_errors.append(m.text))
        page.on("pageerror", lambda exc: watched.console_errors.append(str(exc)))
        page.on("request", lambda r: watched.requests.append(r.url))

        def on_dialog(dialog):
            watched.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        # Nothing may leave the machine: anything not on loopback is aborted (the last route added is
        # tried first, so tiles get the fake PNG); what was asked for is still recorded above.
        page.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
        if tiles == "fake":
            page.route("https://tile.openstreetmap.org/**", lambda route: route.fulfill(body=TILE_PNG))
        page.goto(url)
        return watched

    yield opener
    for context in contexts:
        context.close()
