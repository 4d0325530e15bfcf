"""Field search on a 390x844 phone (issue 20), against the real server: the form folds to a summary after
a search, the legend folds, the list comes before the map, and "Use my location" sends only a position
rounded to 2 decimals."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from bench.server import live_server
from directory.extensions import db
from tests.conftest import _migrate, make_app
from tests.factories import make_service

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
# A precise position (a street corner), that must never reach a URL as given.
HERE = {"latitude": 47.606209, "longitude": -122.332071}


@pytest.fixture(scope="module")
def search_site(databases):
    url = databases.copy(databases.template("migrated", _migrate))
    app = make_app(url)
    with app.app_context():
        for i in range(6):
            make_service(db.session, name=f"Nearby {i}", lat=47.6036 + i * 0.002, lon=-122.3256)
        make_service(db.session, name="Quiet Haven", confidential=True)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    with live_server(url) as base:
        yield {"base": base}


def test_after_a_search_the_form_folds_and_the_list_comes_first(search_site, open_page):
    watched = open_page(search_site["base"] + "/search?near=98104&radius_mi=5", **PHONE)
    page = watched.page
    summary = page.locator(".search-summary")
    assert summary.is_visible()
    assert "98104" in summary.inner_text() and "5.0 mi" in summary.inner_text()
    assert not page.locator("#q").is_visible()
    # The list before the map, and the legend folded.
    first = page.locator("#result-list .result").first.bounding_box()
    assert first["y"] < page.locator("#map").bounding_box()["y"]
    assert page.locator("details.legend-fold").get_attribute("open") is None
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # The confidential group follows the located results, with a call link (none here) and no distance.
    group = page.locator(".confidential-group")
    assert "Quiet Haven" in group.inner_text() and " mi" not in group.inner_text()
    edit = page.locator(".edit-search")
    assert edit.bounding_box()["height"] >= 44
    edit.tap()
    assert page.locator("#q").is_visible() and page.locator("#near").input_value() == "98104"
    assert edit.get_attribute("aria-expanded") == "true"
    assert watched.console_errors == []


def test_a_wide_screen_keeps_the_form_and_the_legend_open(search_site, open_page):
    watched = open_page(search_site["base"] + "/search?near=98104&radius_mi=5")
    page = watched.page
    assert page.locator("#q").is_visible() and not page.locator(".search-summary").is_visible()
    assert page.locator("details.legend-fold").get_attribute("open") is not None
    assert watched.console_errors == []


def test_use_my_location_sends_two_decimals_only(search_site, browser):
    context = browser.new_context(
        viewport=PHONE, has_touch=True, geolocation=HERE, permissions=["geolocation"]
    )
    try:
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
        page.goto(search_site["base"] + "/search")
        button = page.locator("[data-use-location]")
        assert button.is_visible()
        with page.expect_navigation():
            button.tap()
        query = parse_qs(urlsplit(page.url).query)
        assert query["near"] == ["47.61,-122.33"]
        assert not [url for url in requests if "47.6062" in url or "122.3320" in url]
        assert "47.6100, -122.3300" in page.locator(".results-count").inner_text()
        # Nothing kept in the browser either.
        assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    finally:
        context.close()


def test_without_permission_the_button_says_what_to_do(search_site, browser):
    context = browser.new_context(viewport=PHONE, has_touch=True, permissions=[])
    try:
        page = context.new_page()
        page.route(lambda url: not url.startswith("http://127.0.0.1:"), lambda route: route.abort())
        page.goto(search_site["base"] + "/search")
        page.locator("[data-use-location]").tap()
        status = page.locator(".use-location-status")
        status.wait_for(state="visible")
        page.wait_for_function("() => document.querySelector('.use-location-status').textContent.length > 25")
        assert "type a place" in status.inner_text()
        assert urlsplit(page.url).query == ""
    finally:
        context.close()
