"""The map in a real browser: markers, popups, legend, list links, offline, escaping, phone layout."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bench.map import DRAWN_OURS
from bench.server import live_server
from directory.extensions import db
from directory.models import Location, Service, service_at_location
from directory.types import utcnow
from tests.conftest import _migrate, make_app
from tests.factories import LOW_BARRIER, make_service

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"
CENTER = (47.6036, -122.3256)  # ZIP 98104
FILLERS = 60


def build_world(url: str) -> dict:
    """Services of every status around ZIP 98104, an approximate one, a confidential one and an XSS name."""
    app = make_app(url)
    now = utcnow()  # the server runs on the real clock
    ids = {}
    with app.app_context():
        session = db.session
        ids["spare"] = make_service(
            session,
            name="Harbor Beds",
            lat=47.6040,
            lon=-122.3300,
            capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": now},
        ).id
        # Not housing: there, LEAD-fundability would depend on the badge the demo site hides, and the public
        # would see the general units' status instead (test_public_disclosure.py).
        ids["lead"] = make_service(
            session,
            name="Lantern House",
            domain="food",
            lat=47.6100,
            lon=-122.3200,
            capacity={
                "maximum": 10,
                "available": 1,
                "waitlist": 0,
                "lead_funded_maximum": 2,
                "lead_funded_available": 1,
                "confirmed_at": now,
            },
            **LOW_BARRIER,
        ).id
        ids["displacement"] = make_service(
            session,
            name="Cedar Waitlist",
            lat=47.5980,
            lon=-122.3350,
            capacity={"maximum": 8, "available": 1, "waitlist": 4, "confirmed_at": now},
        ).id
        ids["unverified"] = make_service(
            session,
            name="Old Numbers Inn",
            lat=47.6150,
            lon=-122.3400,
            capacity={"maximum": 8, "available": 3, "waitlist": 0, "confirmed_at": now - timedelta(days=30)},
        ).id
        ids["approximate"] = make_service(
            session, name="Somewhere Outreach", lat=47.6000, lon=-122.3100, precision="approximate"
        ).id
        ids["xss"] = make_service(session, name=XSS, lat=47.6070, lon=-122.3280).id
        ids["confidential"] = make_service(session, name="Hidden Refuge", confidential=True).id
        # Two services at one address: a cluster even at the deepest zoom.
        ids["twin_a"] = make_service(session, name="Twin Clinic A", lat=47.6090, lon=-122.3350).id
        ids["twin_b"] = make_service(session, name="Twin Clinic B", lat=47.6090, lon=-122.3350).id
        rng = random.Random(3)
        for i in range(FILLERS):
            make_service(
                session,
                name=f"Filler service {i:02d}",
                lat=CENTER[0] + rng.uniform(-0.03, 0.03),
                lon=CENTER[1] + rng.uniform(-0.04, 0.04),
            )
        session.commit()
        db.session.remove()
        db.engine.dispose()
    return ids


def expected_on_map(url: str, radius_km: float) -> int:
    """Services the map must show, counted from the database: public coordinates within the radius."""
    app = make_app(url)
    with app.app_context():
        rows = db.session.execute(
            select(Service.id, Location.latitude, Location.longitude)
            .join(service_at_location, service_at_location.c.service_id == Service.id)
            .join(Location, Location.id == service_at_location.c.location_id)
            .where(
                Service.status == "active", Location.confidential.is_(False), Location.latitude.is_not(None)
            )
        ).all()
        db.session.remove()
        db.engine.dispose()

    def km(lat, lon):
        p1, p2 = math.radians(CENTER[0]), math.radians(lat)
        a = (
            math.sin((p2 - p1) / 2) ** 2
            + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon - CENTER[1]) / 2) ** 2
        )
        return 2 * 6371.0088 * math.asin(math.sqrt(a))

    return len({service_id for service_id, lat, lon in rows if km(lat, lon) <= radius_km})


@pytest.fixture(scope="module")
def site(databases):
    """The app as a real server (default tiles: OpenStreetMap, faked by the page fixture) on its world."""
    url = databases.copy(databases.template("migrated", _migrate))
    ids = build_world(url)
    with live_server(url) as base:
        yield {"base": base, "ids": ids, "url": url}


def wait_for_map(watched):
    watched.page.wait_for_selector("#map[data-ready=true]", state="attached", timeout=15_000)


def drawn(page) -> int:
    return page.evaluate(DRAWN_OURS)


def test_every_result_is_drawn_with_legend_and_no_console_errors(site, open_page):
    watched = open_page(site["base"] + "/search?near=98104&radius_km=10")
    wait_for_map(watched)
    expected = expected_on_map(site["url"], 10)
    assert expected == FILLERS + 8  # the world, less the confidential service
    assert drawn(watched.page) == expected
    legend = watched.page.locator(".map-legend").inner_text()
    for label in (
        "LEAD-funded unit free",
        "Spare capacity",
        "Waitlist: would displace",
        "Unverified: call first",
    ):
        assert label in legend
    assert "approximate" in legend.lower()
    assert watched.page.locator("#map .leaflet-marker-icon").count() > 0
    assert watched.console_errors == []


def test_popup_from_the_list_and_list_from_the_marker(site, open_page):
    ids = site["ids"]
    watched = open_page(site["base"] + "/search?near=98104&radius_km=10")
    page = watched.page
    wait_for_map(watched)
    page.locator(f'[data-show-on-map="{ids["spare"]}"]').click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    text = popup.inner_text()
    assert "Harbor Beds" in text and "Spare capacity" in text and "km away" in text
    assert popup.locator("a.popup-name").get_attribute("href") == f"/services/{ids['spare']}"
    check = popup.locator("a.popup-check")
    assert check.inner_text() == "Check referral"
    assert check.get_attribute("href") == f"/referrals/check?service_id={ids['spare']}"
    assert page.locator(f"#result-{ids['spare']}.is-selected").count() == 1
    # Marker -> list: close it, click the marker itself.
    page.locator(".leaflet-popup-close-button").click()
    assert page.locator(".result.is-selected").count() == 0
    page.locator(".pin-icon[title^='Harbor Beds']").click()
    popup.wait_for(state="visible")
    assert page.locator(f"#result-{ids['spare']}.is-selected").count() == 1
    assert watched.console_errors == []


def test_statuses_are_told_apart_by_symbol_and_text_and_approximate_is_hollow(site, open_page):
    ids = site["ids"]
    watched = open_page(site["base"] + "/search?near=98104&radius_km=10")
    page = watched.page
    wait_for_map(watched)
    page.evaluate("() => DirectoryMap.map.setView([47.6060, -122.3260], 18, {animate: false})")
    seen = {}
    for key, name in (
        ("spare", "Harbor Beds"),
        ("lead", "Lantern House"),
        ("displacement", "Cedar Waitlist"),
        ("unverified", "Old Numbers Inn"),
        ("approximate", "Somewhere Outreach"),
    ):
        marker = page.evaluate(
            """(id) => {
              const m = DirectoryMap.markers[id];
              DirectoryMap.map.setView(m.getLatLng(), 18, {animate: false});
              const e = m.getElement();
              return e && [e.innerText, e.querySelector('.pin').className];
            }""",
            ids[key],
        )
        assert marker, name
        seen[key] = marker
    assert seen["spare"][0].replace("\n", "") == "✓Free" and "status-spare_capacity" in seen["spare"][1]
    assert "★" in seen["lead"][0] and "status-lead_funded" in seen["lead"][1]
    assert "⚠" in seen["displacement"][0] and "status-displacement" in seen["displacement"][1]
    assert "?" in seen["unverified"][0] and "status-unverified" in seen["unverified"][1]
    assert "hollow" in seen["approximate"][1] and "hollow" not in seen["spare"][1]
    texts = {seen[k][0] for k in ("spare", "lead", "displacement", "unverified")}
    assert len(texts) == 4


def test_no_request_leaves_loopback_except_tiles(site, open_page):
    watched = open_page(site["base"] + "/search?near=98104&radius_km=10")
    wait_for_map(watched)
    watched.page.wait_for_load_state("networkidle")
    outside = [u for u in watched.requests if not u.startswith(site["base"])]
    assert outside, "the default tile layer asked for no tiles"
    assert all(u.startswith("https://tile.openstreetmap.org/") for u in outside), outside
    local = [u for u in watched.requests if u.startswith(site["base"])]
    assert any("/vendor/leaflet/" in u for u in local) and any("/vendor/markercluster/" in u for u in local)
    assert watched.page.evaluate("() => typeof L") == "object"
    assert watched.console_errors == []


def test_unreachable_tiles_still_leave_a_working_map(site, open_page):
    watched = open_page(site["base"] + "/search?near=98104&radius_km=10", tiles="none")
    wait_for_map(watched)
    assert drawn(watched.page) == expected_on_map(site["url"], 10)
    watched.page.locator(f'[data-show-on-map="{site["ids"]["lead"]}"]').click()
    popup = watched.page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    assert "Lantern House" in popup.inner_text() and "LEAD-funded unit free" in popup.inner_text()


def test_an_html_name_is_text_everywhere_and_fires_no_dialog(site, open_page):
    ids = site["ids"]
    watched = open_page(site["base"] + "/search?q=img&near=98104")
    page = watched.page
    wait_for_map(watched)
    assert page.locator(f"#result-{ids['xss']} h3").inner_text() == XSS
    page.locator(f'[data-show-on-map="{ids["xss"]}"]').click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    assert popup.locator("a.popup-name").inner_text() == XSS
    page.locator(".leaflet-popup-close-button").click()
    page.locator(f".pin-icon[title^='{XSS}']").hover()
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for(state="visible")
    assert XSS in tooltip.inner_text()
    assert page.locator("#map img:not(.leaflet-tile)").count() == 0
    service = open_page(f"{site['base']}/services/{ids['xss']}")
    wait_for_map(service)
    assert service.page.locator("h1").inner_text() == XSS
    assert watched.dialogs == [] and service.dialogs == []
    assert watched.console_errors == [] and service.console_errors == []


def test_service_pages_show_their_point_but_never_a_confidential_one(site, open_page):
    ids = site["ids"]
    watched = open_page(f"{site['base']}/services/{ids['spare']}")
    wait_for_map(watched)
    assert drawn(watched.page) == 1
    hidden = open_page(f"{site['base']}/services/{ids['confidential']}")
    assert "Hidden Refuge" in hidden.page.locator("h1").inner_text()
    assert hidden.page.locator("#map").count() == 0
    assert hidden.page.locator(".leaflet-marker-icon").count() == 0
    assert watched.console_errors == [] and hidden.console_errors == []


def test_phone_layout_reaches_list_and_map(site, open_page):
    ids = site["ids"]
    watched = open_page(site["base"] + "/search?near=98104&radius_km=10", width=390, height=844)
    page = watched.page
    # On a phone the map's scripts wait until the map is opened (issue 25): nothing of Leaflet yet.
    assert page.evaluate("() => typeof L") == "undefined"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.locator(".skip-results").tap()
    page.locator(".view-switch a[href='#map']").tap()
    wait_for_map(watched)
    box = page.locator("#map").bounding_box()
    assert box["width"] <= 390 and box["height"] >= 300
    assert 0 <= box["y"] < 844
    page.locator(".view-switch a[href='#result-list']").tap()
    first = page.locator(".result").first
    assert first.is_visible()
    button = page.locator(f'[data-show-on-map="{ids["spare"]}"]')
    assert button.bounding_box()["height"] >= 44
    button.tap()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    map_box = page.locator("#map").bounding_box()
    assert map_box["y"] < 844 and map_box["y"] + map_box["height"] > 0  # the map came into view
    assert "Harbor Beds" in popup.inner_text()
    # A listed result hidden inside a cluster: the map comes into view, unclusters it and opens it.
    page.locator(".view-switch a[href='#result-list']").tap()
    clustered = page.evaluate(
        """() => {
          const group = window[document.getElementById('map').dataset.clusterName];
          const listed = [...document.querySelectorAll('[data-show-on-map]')].map((b) => b.dataset.showOnMap);
          const markers = DirectoryMap.markers;
          const hidden = (id) => group.getVisibleParent(markers[id]) !== markers[id];
          return listed.find(hidden);
        }"""
    )
    assert clustered, "no listed result is inside a cluster"
    page.locator(f'[data-show-on-map="{clustered}"]').tap()
    page.locator(f'.leaflet-popup-content a.popup-name[href="/services/{clustered}"]').wait_for(
        state="visible"
    )
    # The previous popup fades out (200 ms) and goes: one popup at a time.
    expect(page.locator(".leaflet-popup")).to_have_count(1)
    assert watched.console_errors == []


def test_services_at_one_address_fan_out_to_show_one(site, open_page):
    ids = site["ids"]
    watched = open_page(site["base"] + "/search?q=twin&near=98104")
    page = watched.page
    wait_for_map(watched)
    page.locator(f'[data-show-on-map="{ids["twin_b"]}"]').click()
    page.locator(f'.leaflet-popup-content a.popup-name[href="/services/{ids["twin_b"]}"]').wait_for(
        state="visible"
    )
    assert page.evaluate("() => DirectoryMap.map.getZoom()") == 19
    assert watched.console_errors == []


def test_markers_and_clusters_work_from_the_keyboard(site, open_page):
    ids = site["ids"]
    watched = open_page(site["base"] + "/search?near=98104&radius_km=10")
    page = watched.page
    wait_for_map(watched)
    # A marker on its own: focusable, announced as a button; Enter opens its popup, Escape closes it and
    # gives focus back; Space opens it too, without scrolling the page.
    page.evaluate(
        "(id) => DirectoryMap.map.setView(DirectoryMap.markers[id].getLatLng(), 19, {animate: false})",
        ids["spare"],
    )
    marker = page.locator(".pin-icon[title^='Harbor Beds']")
    assert marker.get_attribute("role") == "button" and marker.get_attribute("tabindex") == "0"
    marker.focus()
    page.keyboard.press("Enter")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    assert "Harbor Beds" in popup.inner_text()
    assert page.evaluate("() => document.activeElement.classList.contains('popup-name')")  # focus went in
    page.keyboard.press("Escape")
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    assert page.evaluate("() => (document.activeElement.title || '').startsWith('Harbor Beds')")
    scrolled = page.evaluate("() => window.scrollY")
    page.keyboard.press(" ")
    popup.wait_for(state="visible")
    assert "Harbor Beds" in popup.inner_text()
    assert page.evaluate("() => window.scrollY") == scrolled
    page.keyboard.press("Escape")
    expect(page.locator(".leaflet-popup")).to_have_count(0)
    # A cluster: Enter zooms into it.
    page.evaluate("() => DirectoryMap.map.setView([47.6036, -122.3256], 12, {animate: false})")
    cluster = page.locator(".cluster-icon").first
    cluster.wait_for(state="visible")
    assert cluster.get_attribute("role") == "button"
    before = page.evaluate("() => DirectoryMap.map.getZoom()")
    cluster.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("(z) => DirectoryMap.map.getZoom() > z", arg=before, timeout=10_000)
    # Space on a cluster as well.
    page.evaluate("() => DirectoryMap.map.setView([47.6036, -122.3256], 12, {animate: false})")
    page.locator(".cluster-icon").first.focus()
    page.keyboard.press(" ")
    page.wait_for_function("(z) => DirectoryMap.map.getZoom() > z", arg=before, timeout=10_000)
    assert watched.console_errors == []
