"""Readable offline and honest about it (issue 25), in Chromium against the real server: the manifest and the
worker, a kept search opened offline with its banner and the age of every number, stale numbers that say
call (never free), writes that say they need a connection, the caches emptied at sign-out, staff pages
never kept, a kept search refreshed in place, and the map's scripts on a phone only when the map is opened."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bench.server import live_server
from directory.extensions import db
from directory.models import Referral, ServiceCapacity
from directory.types import utcnow
from tests.browser.conftest import TILE_PNG
from tests.conftest import _migrate, make_app
from tests.factories import make_participant, make_service, make_user

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
PASSWORD = "browser-pass-123"
SEARCH = "/search?near=98104&radius_mi=5"

KEPT = """async () => {
  const out = {};
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    out[name] = (await cache.keys()).map((r) => r.url);
  }
  return out;
}"""
KEPT_BODIES = """async () => {
  const bodies = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) bodies.push((await (await cache.match(request)).text()));
  }
  return bodies;
}"""


@pytest.fixture(scope="module")
def offline_site(databases):
    url = databases.copy(databases.template("migrated", _migrate))
    app = make_app(url)
    now = utcnow()
    ids = {}
    with app.app_context():
        session = db.session
        ids["fresh"] = make_service(
            session,
            name="Harbor Beds",
            lat=47.6040,
            lon=-122.3300,
            capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": now},
        ).id
        # Shelter beds are fresh for 12 h (data/site.toml): fetched at 11 h, read 3 h later offline.
        ids["aging"] = make_service(
            session,
            name="Night Shelter",
            lat=47.6050,
            lon=-122.3280,
            capacity={
                "unit_id": "shelter_bed",
                "maximum": 20,
                "available": 4,
                "waitlist": 0,
                "confirmed_at": now - timedelta(hours=11),
            },
        ).id
        # Enough results that on a phone the map starts well below the screen.
        for i in range(12):
            make_service(session, name=f"Drop-in {i:02d}", lat=47.6000 + i * 0.001, lon=-122.3200)
        from directory.models import Phone

        for key, number in (("fresh", "206-555-0101"), ("aging", "206-555-0199")):
            session.add(Phone(service_id=ids[key], number=number))
        cm = make_user(session, "case_manager", password=PASSWORD)
        participant = make_participant(session, cm)
        ids["cm_email"], ids["code"] = cm.email, participant.code
        session.commit()
        db.session.remove()
        db.engine.dispose()
    with live_server(url) as base:
        yield {"base": base, "ids": ids, "url": url}


def new_context(browser, service_workers: str = "allow"):
    context = browser.new_context(viewport=PHONE, has_touch=True, service_workers=service_workers)
    # Nothing leaves the machine: tiles get the conftest's blank PNG, anything else is aborted.
    context.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
    context.route("https://tile.openstreetmap.org/**", lambda route: route.fulfill(body=TILE_PNG))
    return context


def controlled(page) -> None:
    """Until the worker is active and controls this page."""
    page.evaluate("() => navigator.serviceWorker.ready")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)


def keep_search(page, base: str, path: str = SEARCH) -> None:
    """Open a search under the worker, so that it keeps it."""
    page.goto(base + path)
    controlled(page)
    page.goto(base + path)
    page.wait_for_function(
        "async (u) => !!(await (await caches.open('pages-v1')).match(u))", arg=base + path, timeout=15_000
    )


def sign_in(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("main form button[type=submit]")


def test_the_manifest_and_the_worker_are_registered(offline_site, browser):
    base = offline_site["base"]
    context = new_context(browser)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("requestfailed", lambda r: errors.append(r.url))
        page.goto(base + SEARCH)
        controlled(page)
        registration = page.evaluate(
            """async () => { const r = await navigator.serviceWorker.getRegistration();
                 return {scope: r.scope, script: r.active.scriptURL}; }"""
        )
        assert registration == {"scope": base + "/", "script": base + "/sw.js"}
        manifest = page.evaluate(
            "async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json()"
        )
        assert manifest["start_url"] == "/search" and {i["sizes"] for i in manifest["icons"]} >= {"192x192"}
        shell = page.evaluate(KEPT)
        kept_shell = next(urls for name, urls in shell.items() if name.startswith("shell-"))
        assert base + "/offline" in kept_shell
        assert any("/static/js/offline." in u for u in kept_shell)
        assert errors == []  # no CSP violation, no script error
    finally:
        context.close()


def test_a_kept_search_opens_offline_with_a_banner_and_every_numbers_age(offline_site, browser):
    base, ids = offline_site["base"], offline_site["ids"]
    context = new_context(browser)
    try:
        page = context.new_page()
        keep_search(page, base)
        # A service page opened from the kept search is kept with it.
        page.click(f"#result-{ids['fresh']} h3 a")
        page.wait_for_function(
            "async (u) => !!(await (await caches.open('pages-v1')).match(u))",
            arg=f"{base}/services/{ids['fresh']}",
            timeout=15_000,
        )
        context.set_offline(True)
        page.goto(base + SEARCH)
        banner = page.locator("#offline-banner")
        banner.wait_for(state="visible", timeout=15_000)
        assert "No connection: this page was saved just now" in banner.inner_text()
        fresh = page.locator(f"#result-{ids['fresh']}")
        assert "numbers from just now" in fresh.inner_text() and "Call —" not in fresh.inner_text()
        # Opened without a connection, the map is not loaded, and says so.
        page.locator(".view-switch a[href='#map']").tap()
        page.locator("#map .map-offline").wait_for(state="visible", timeout=5_000)
        assert "The map needs a connection" in page.locator("#map").inner_text()
        assert page.evaluate("() => typeof L") == "undefined"
        page.goto(f"{base}/services/{ids['fresh']}")
        page.locator("#offline-banner").wait_for(state="visible", timeout=15_000)
        assert "Harbor Beds" in page.locator("h1").inner_text()
        # A page that was never opened: the offline page, with the kept search listed.
        page.goto(f"{base}/services/{ids['aging']}")
        assert page.locator("h1").inner_text() == "No connection"
        page.locator("#saved-searches a").first.wait_for(timeout=15_000)
        assert page.locator("#saved-searches a").first.get_attribute("href") == base + SEARCH
    finally:
        context.close()


def test_numbers_past_their_window_say_call_with_the_phone_never_free(offline_site, browser):
    base, ids = offline_site["base"], offline_site["ids"]
    context = new_context(browser)
    try:
        page = context.new_page()
        keep_search(page, base)
        aging = page.locator(f"#result-{ids['aging']}")
        assert "Spare capacity" in aging.inner_text()  # fresh when fetched, 11 h old
        context.set_offline(True)
        # Read three hours later: 14 h old, past the shelter beds' 12 h window.
        page.clock.set_fixed_time(utcnow() + timedelta(hours=3))
        page.goto(base + SEARCH)
        page.locator("#offline-banner").wait_for(state="visible", timeout=15_000)
        assert "saved 3 h ago" in page.locator("#offline-banner").inner_text()
        text = aging.inner_text()
        assert "Call — numbers from 14 h ago" in text
        assert "Spare capacity" not in text and "free" not in text.lower()
        call = aging.locator("a.stale-call")
        assert call.get_attribute("href") == "tel:2065550199" and "206-555-0199" in call.inner_text()
        assert aging.locator(".badge.status").get_attribute("data-status") == "unverified"
        # The other result is still inside its 48 h window: its status stays, with its age.
        fresh = page.locator(f"#result-{ids['fresh']}").inner_text()
        assert "Spare capacity" in fresh and "numbers from 3 h ago" in fresh
    finally:
        context.close()


def test_writes_offline_say_they_need_a_connection_and_send_nothing(offline_site, browser):
    base, ids = offline_site["base"], offline_site["ids"]
    app = make_app(offline_site["url"])

    def referrals() -> int:
        with app.app_context():
            count = db.session.scalar(select(func.count()).select_from(Referral))
            db.session.remove()
        return count

    before = referrals()
    context = new_context(browser)
    try:
        page = context.new_page()
        sign_in(page, base, ids["cm_email"])
        page.goto(f"{base}/referrals/check?service_id={ids['fresh']}&participant={ids['code']}")
        button = page.locator("form.act button[type=submit]").first
        assert button.is_visible()
        posts: list[str] = []
        page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
        context.set_offline(True)
        button.click()
        note = page.locator(".needs-connection")
        note.wait_for(state="visible", timeout=5_000)
        assert "Needs a connection" in note.inner_text() and "nothing will be sent later" in note.inner_text()
        assert note.locator("a").get_attribute("href") == "tel:2065550101"
        # "Refer" from a search result says the same, with that result's phone.
        context.set_offline(False)
        page.goto(base + SEARCH)
        context.set_offline(True)
        page.locator(f"#result-{ids['aging']} a.refer-link").click()
        result_note = page.locator(f"#result-{ids['aging']} .needs-connection")
        result_note.wait_for(state="visible", timeout=5_000)
        assert result_note.locator("a").get_attribute("href") == "tel:2065550199"
        page.wait_for_timeout(500)
        assert posts == []
        assert page.url == base + SEARCH
    finally:
        context.close()
    assert referrals() == before


def test_staff_pages_are_never_kept_and_sign_out_empties_the_caches(offline_site, browser):
    base, ids = offline_site["base"], offline_site["ids"]
    context = new_context(browser)
    try:
        page = context.new_page()
        keep_search(page, base)
        assert base + SEARCH in page.evaluate(KEPT)["pages-v1"]
        sign_in(page, base, ids["cm_email"])
        staff_urls = [
            base + "/search?near=98104&radius_mi=3",
            f"{base}/services/{ids['fresh']}?from=staff",
            f"{base}/participants/{ids['code']}",
            f"{base}/referrals/check?service_id={ids['fresh']}&participant={ids['code']}",
        ]
        for url in staff_urls:
            page.goto(url)
            assert page.locator("html").get_attribute("data-signed-in") == "1"
        page.wait_for_timeout(1000)
        kept = page.evaluate(KEPT)
        every = [u for urls in kept.values() for u in urls]
        assert not [u for u in every if "/participants" in u or "/referrals" in u]
        assert base + "/search?near=98104&radius_mi=3" not in every
        bodies = page.evaluate(KEPT_BODIES)
        assert not [b for b in bodies if ids["code"] in b or "Refer (check first)" in b or "Sign out" in b]
        # Offline, a staff page was not kept: the offline page, not the participant.
        context.set_offline(True)
        page.goto(f"{base}/participants/{ids['code']}")
        assert page.locator("h1").inner_text() == "No connection"
        assert ids["code"] not in page.content()
        context.set_offline(False)
        page.goto(base + "/account")
        with page.expect_navigation():
            page.click("form.inline button")  # Sign out
        page.wait_for_load_state("load")
        kept = page.evaluate(KEPT)
        assert kept.get("pages-v1", []) == [] and not kept.get("state-v1")
    finally:
        context.close()


def test_a_kept_search_shows_at_once_and_refreshes_in_place(offline_site, browser):
    base, ids = offline_site["base"], offline_site["ids"]
    path = "/search?near=98104&radius_mi=4"
    context = new_context(browser)
    app = make_app(offline_site["url"])
    try:
        page = context.new_page()
        keep_search(page, base, path)
        assert "Spare capacity" in page.locator(f"#result-{ids['fresh']}").inner_text()
        with app.app_context():
            row = db.session.get(ServiceCapacity, ids["fresh"])
            row.available, row.confirmed_at = 0, utcnow()
            db.session.commit()
            db.session.remove()
        page.goto(base + path)
        page.wait_for_selector("html[data-refreshed=true]", state="attached", timeout=15_000)
        item = page.locator(f"#result-{ids['fresh']}")
        assert "Full" in item.inner_text() and "Spare capacity" not in item.inner_text()
        assert page.locator("#offline-banner").count() == 0
    finally:
        context.close()
        with app.app_context():
            row = db.session.get(ServiceCapacity, ids["fresh"])
            row.available, row.confirmed_at = 2, utcnow()
            db.session.commit()
            db.session.remove()


def test_on_a_phone_the_maps_scripts_wait_until_the_map_is_opened(offline_site, browser):
    base = offline_site["base"]
    context = new_context(browser, service_workers="block")
    try:
        page = context.new_page()
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        page.goto(base + SEARCH)
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        assert not [u for u in asked if "/vendor/" in u or "/js/map." in u]
        assert page.locator("#result-list .result").first.is_visible()
        page.locator(".view-switch a[href='#map']").tap()
        page.wait_for_selector("#map[data-ready=true]", state="attached", timeout=15_000)
        assert [u for u in asked if "/vendor/leaflet/" in u] and [u for u in asked if "/js/map." in u]
        markers = json.loads(page.locator("#map").get_attribute("data-markers"))["markers"]
        assert int(page.locator("#map").get_attribute("data-marker-count")) == len(markers)
    finally:
        context.close()
