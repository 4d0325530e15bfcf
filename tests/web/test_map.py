"""The map's server side: folium parts inline, markers as data, offline assets, escaping, confidentiality."""

import html as htmllib
import json
import re

from sqlalchemy import func, select

from directory.models import Location, Service, service_at_location
from tests.conftest import FIXED_NOW
from tests.factories import fresh, make_service

XSS = "<img src=x onerror=alert(1)>"
CDN_HINTS = ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers", "glyphicons", "cdn")


def map_data(page: str) -> dict:
    """The marker data the page carries for map.js."""
    match = re.search(r"data-markers='([^']*)'", page)
    assert match, "no map data on the page"
    return json.loads(htmllib.unescape(match.group(1)))


def test_search_page_renders_folium_inline_with_local_assets_only(client, session):
    make_service(session, name="Harbor Beds")
    session.commit()
    page = client.get("/search?near=98104").get_data(as_text=True)
    assert "<iframe" not in page
    head = page.split("</head>")[0]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    # The map's scripts and styles are loaded by lazymap.js after the list (issue 25): named on #map.
    for attribute in ("data-map-scripts", "data-map-styles"):
        sources += json.loads(htmllib.unescape(re.search(attribute + r"='([^']*)'", page).group(1)))
    assert any(re.fullmatch(r"/vendor/leaflet/[\d.]+/leaflet\.[0-9a-f]{10}\.js", s) for s in sources)
    assert any(s.startswith("/vendor/markercluster/") for s in sources)
    assert "js/map." in " ".join(sources) and "/static/js/lazymap." in page
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))], (
        "an asset from outside the app"
    )
    for hint in CDN_HINTS:
        assert hint not in head.lower()
    # folium's own full-page styles and zoom lock are left out: the map lives inside our layout.
    assert "user-scalable=no" not in page and "html, body {" not in page
    # folium's script is inline with this response's nonce; it creates the map and the cluster group.
    policy = client.get("/search?near=98104").headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    inline = [(attrs, body) for attrs, body in scripts if body.strip()]
    assert all('nonce="' in attrs for attrs, _ in inline)
    # folium's is inert text (type="text/x-map-init") that lazymap.js runs under the same nonce.
    inline = [(attrs, body) for attrs, body in inline if "text/x-map-init" in attrs]
    assert len(inline) == 1
    assert "L.map(" in inline[0][1] and "L.markerClusterGroup(" in inline[0][1]
    assert "L.circle(" in inline[0][1] and "fitBounds(" in inline[0][1]
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


def test_markers_are_data_for_every_result_not_only_the_listed_page(client, session):
    for i in range(25):
        make_service(session, name=f"Service {i:02d}", lat=47.60 + i / 1000)
    session.commit()
    page = client.get("/search?near=98104&per_page=20").get_data(as_text=True)
    data = map_data(page)
    assert page.count('class="result"') == 20
    expected = session.scalar(
        select(func.count(func.distinct(Service.id)))
        .join(service_at_location, service_at_location.c.service_id == Service.id)
        .join(Location, Location.id == service_at_location.c.location_id)
        .where(Location.confidential.is_(False), Location.latitude.is_not(None))
    )
    assert len(data["markers"]) == expected == 25
    # One data array; no JavaScript per marker.
    assert "L.marker(" not in page


def test_marker_carries_status_age_distance_badges_and_links(client, session):
    service = make_service(
        session,
        name="Harbor Beds",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        housing_first=True,
    )
    session.commit()
    data = map_data(client.get("/search?near=98104").get_data(as_text=True))
    row = dict(zip(data["fields"], data["markers"][0], strict=True))
    assert row["id"] == service.id and row["name"] == "Harbor Beds"
    assert row["org"] == service.organization.name
    assert data["statuses"][row["status"]]["code"] == "spare_capacity"
    assert row["age"] == "5 min ago" and row["hollow"] == 0
    assert 0 <= row["km"] < 1
    assert data["badges"][1] == "Housing First" and row["badges"] & 2
    assert data["serviceUrl"] + str(service.id) == f"/services/{service.id}"
    assert data["checkUrl"] + str(service.id) == f"/referrals/check?service_id={service.id}"
    codes = [s["code"] for s in data["statuses"]]
    assert sorted(codes) == sorted(
        [
            "lead_funded",
            "coordinated_entry",
            "spare_capacity",
            "displacement",
            "full",
            "unverified",
            "open_access",
        ]
    )
    assert len({(s["symbol"], s["text"]) for s in data["statuses"]}) == 7  # never colour alone


def test_approximate_and_zip_locations_are_hollow(client, session):
    exact = make_service(session, name="Exact place")
    approx = make_service(session, name="Approximate place", precision="approximate")
    by_zip = make_service(session, name="Zip place", precision="zip")
    session.commit()
    data = map_data(client.get("/search?near=98104").get_data(as_text=True))
    hollow = {m[0]: m[4] for m in data["markers"]}
    assert hollow == {exact.id: 0, approx.id: 1, by_zip.id: 1}


def test_confidential_locations_never_reach_the_map(client, session):
    public = make_service(session, name="Open shelter")
    hidden = make_service(session, name="Safe house", confidential=True)
    session.commit()
    page = client.get("/search?q=shelter+house").get_data(as_text=True)
    page_all = client.get("/search?category=housing").get_data(as_text=True)
    for html in (page, page_all):
        if "data-markers" in html:
            ids = [m[0] for m in map_data(html)["markers"]]
            assert hidden.id not in ids
    assert [m[0] for m in map_data(page_all)["markers"]] == [public.id]
    assert "not on the map" in page_all
    service_page = client.get(f"/services/{hidden.id}").get_data(as_text=True)
    assert "data-markers" not in service_page and "L.map(" not in service_page


def test_slip_marker_keeps_the_place_and_drops_status_age_and_badges(app, session):
    from directory.web import mapview

    service = make_service(
        session,
        name="Harbor Beds",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        housing_first=True,
    )
    hidden = make_service(session, name="Safe house", confidential=True)
    session.commit()
    with app.test_request_context():
        [full] = mapview.service_map(service)[1]["markers"]
        slip = mapview.slip_map(service)[1]
        assert mapview.slip_map(hidden) is None and mapview.service_map(hidden) is None
    assert full.status != 0 and full.age and full.badges  # the service page shows all three
    assert slip["markers"] == [full._replace(status=0, age="", badges=0)]
    assert slip["fields"] == ["id", "lat", "lon", "status", "hollow", "name", "org", "km", "age", "badges"]
    # Still a plain array in the page, in the order "fields" names.
    assert json.loads(app.json.dumps(slip["markers"])) == [
        [service.id, full.lat, full.lon, 0, full.hollow, "Harbor Beds", full.org, full.km, "", 0]
    ]


def test_service_page_has_a_map_with_its_one_point(client, session):
    service = make_service(session, name="Clinic", lat=47.61, lon=-122.33)
    session.commit()
    page = client.get(f"/services/{service.id}").get_data(as_text=True)
    data = map_data(page)
    assert [(m[0], m[1], m[2]) for m in data["markers"]] == [(service.id, 47.61, -122.33)]
    assert "L.map(" in page and "L.markerClusterGroup(" not in page


def test_untrusted_names_stay_data_on_the_map(client, session):
    service = make_service(session, name=XSS)
    service.organization.name = XSS
    session.commit()
    for url in ("/search?near=98104", f"/services/{service.id}"):
        page = client.get(url).get_data(as_text=True)
        assert XSS not in page
        assert map_data(page)["markers"][0][5] == XSS  # intact as data; map.js shows it as text


def test_tiles_follow_map_tiles(app, session, database_url):
    from tests.conftest import make_app

    make_service(session, name="Harbor Beds")
    session.commit()
    page = app.test_client().get("/search?near=98104").get_data(as_text=True)
    assert "L.tileLayer(" in page and "tile.openstreetmap.org" in page
    plain = make_app(database_url, MAP_TILES="none", CLOCK=lambda: FIXED_NOW)
    page = plain.test_client().get("/search?near=98104").get_data(as_text=True)
    assert "L.tileLayer(" not in page and "L.map(" in page and "data-markers" in page


def test_vendor_assets_come_from_the_xstatic_packages(client):
    from xstatic.pkg import leaflet, leaflet_markercluster

    with client.get(f"/vendor/leaflet/{leaflet.VERSION}/leaflet.js") as response:
        assert response.status_code == 200 and "javascript" in response.content_type
        assert b"Leaflet" in response.data[:400]
        assert response.headers["Cache-Control"].startswith("public, max-age=")
        # By version only, not by content: a short cache (the fingerprinted name is cached for a year).
        assert "immutable" not in response.headers["Cache-Control"]
    with client.get(f"/vendor/markercluster/{leaflet_markercluster.VERSION}/MarkerCluster.css") as css:
        assert css.status_code == 200 and "css" in css.content_type
    for bad in (
        "/vendor/leaflet/0.0.1/leaflet.js",
        "/vendor/jquery/1/jquery.js",
        f"/vendor/leaflet/{leaflet.VERSION}/../__init__.py",
        f"/vendor/leaflet/{leaflet.VERSION}/__init__.py",
    ):
        with client.get(bad) as response:
            assert response.status_code == 404, bad


def test_no_map_without_results(client):
    page = client.get("/search?q=nothingmatchesthis").get_data(as_text=True)
    assert "L.map(" not in page and "/vendor/" not in page


def test_the_listed_page_is_the_api_page_though_cut_from_the_map_search(client, session):
    for i in range(45):
        make_service(session, name=f"Service {i % 7}", lat=47.60 + (i % 9) / 500, lon=-122.33 + (i % 5) / 500)
    session.commit()
    for query in (
        "near=98104&page=2",
        "near=98104&per_page=7&page=3",
        "category=housing&page=3",
        "near=98104&page=9",
    ):
        page = client.get(f"/search?{query}").get_data(as_text=True)
        listed = [int(i) for i in re.findall(r'<li class="result" id="result-(\d+)"', page)]
        api = client.get(f"/api/v1/services?{query}").get_json()
        assert listed == [item["id"] for item in api["items"]], query
        assert f"{api['total']} services" in page
