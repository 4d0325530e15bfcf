"""Field search (issue 20) on the page and the API: medications and brand names, confidential services kept
in located searches (and never placed for non-staff), results that say what to do."""

import re
from datetime import time, timedelta

import pytest

from directory.models import Phone
from tests.conftest import FIXED_NOW
from tests.factories import fresh, make_service, make_user, sign_in

NEARS = ["Pioneer Square", "Belltown", "98104", "47.70,-122.40", "47.40,-122.20", "46.9,-123.5"]


def result_ids(html: str, css: str = "result-list") -> list[int]:
    """The service ids listed in the first <ol> with this class."""
    match = re.search(rf'<ol class="[^"]*\b{css}\b[^"]*"[^>]*>(.*?)</ol>', html, re.S)
    return [int(i) for i in re.findall(r'data-service-id="(\d+)"', match.group(1))] if match else []


def confidential_block(html: str) -> str:
    match = re.search(r'<section class="confidential-group".*?</section>', html, re.S)
    return match.group(0) if match else ""


@pytest.fixture
def world(session):
    clinic = make_service(
        session, name="Harbor Clinic", domain="substance_use_treatment", moud_buprenorphine=True
    )
    otp = make_service(session, name="Dose Program", domain="substance_use_treatment", moud_methadone=True)
    dv = make_service(
        session,
        name="Quiet Haven",
        lat=47.6101,
        lon=-122.3301,
        confidential=True,
        capacity={"maximum": 8, "available": 3, "confirmed_at": FIXED_NOW - timedelta(hours=3)},
    )
    dv.phones.append(Phone(number="(206) 555-0199", type="voice"))
    far_dv = make_service(session, name="Another Haven", lat=46.0, lon=-118.0, confidential=True)
    shelter = make_service(session, name="Open Door")
    session.commit()
    return {"clinic": clinic.id, "otp": otp.id, "dv": dv.id, "far_dv": far_dv.id, "shelter": shelter.id}


def test_brand_names_and_medications_find_the_clinic_on_page_and_api(client, world):
    for q in ("suboxone", "buprenorphine", "Bupe", "MAT"):
        html = client.get(f"/search?q={q}").get_data(as_text=True)
        assert world["clinic"] in result_ids(html), q
        assert world["shelter"] not in result_ids(html), q
    ids = [i["id"] for i in client.get("/api/v1/services?q=methadone").get_json()["items"]]
    assert ids == [world["otp"]]


def test_medication_filter_on_page_and_api(client, world):
    html = client.get("/search?medication=methadone").get_data(as_text=True)
    assert result_ids(html) == [world["otp"]]
    assert '<option value="methadone" selected>' in html  # the form keeps the choice
    body = client.get("/api/v1/services?medication=buprenorphine").get_json()
    assert [i["id"] for i in body["items"]] == [world["clinic"]]
    assert body["items"][0]["moud"] == ["buprenorphine"]
    bad = client.get("/api/v1/services?medication=aspirin")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "medication"
    page = client.get("/search?medication=aspirin")
    assert page.status_code == 400 and 'data-field="medication"' in page.get_data(as_text=True)


def test_openapi_lists_the_medication_parameter(client):
    document = client.get("/api/v1/openapi.json").get_json()
    params = {p["name"]: p for p in document["paths"]["/services"]["get"]["parameters"]}
    assert params["medication"]["schema"]["enum"] == ["buprenorphine", "methadone", "naltrexone"]
    assert "radius_km" in params and "near" in params  # the old parameters stay


@pytest.mark.parametrize("staff", [False, True])
def test_moving_near_never_changes_which_confidential_services_appear(client, session, world, staff):
    if staff:
        sign_in(client, make_user(session, role="case_manager"))
        session.commit()
    seen_api, seen_page = set(), set()
    for near in NEARS:
        for radius in ("1", "50"):
            body = client.get(f"/api/v1/services?near={near}&radius_km={radius}&per_page=100").get_json()
            tail = [item for item in body["items"] if item["distance_km"] is None]
            # The confidential group comes after every located item, by name.
            assert body["items"][len(body["items"]) - len(tail) :] == tail
            assert [item["name"] for item in tail] == ["Another Haven", "Quiet Haven"]
            seen_api.add(tuple(item["id"] for item in tail))
            html = client.get(f"/search?near={near}&radius_km={radius}").get_data(as_text=True)
            block = confidential_block(html)
            assert "Confidential locations — call" in block
            seen_page.add(tuple(result_ids(block, "confidential-list")))
            # Never among the located results.
            assert world["dv"] not in result_ids(html) and world["far_dv"] not in result_ids(html)
    assert seen_api == {(world["far_dv"], world["dv"])}
    assert seen_page == {(world["far_dv"], world["dv"])}


def test_confidential_services_follow_the_other_filters(client, world):
    body = client.get("/api/v1/services?near=98104&category=substance_use_treatment").get_json()
    assert [i["id"] for i in body["items"] if i["distance_km"] is None] == []
    body = client.get("/api/v1/services?near=98104&q=quiet").get_json()
    assert [i["id"] for i in body["items"]] == [world["dv"]]


def test_nothing_says_where_a_confidential_service_is_for_the_public(client, world):
    html = client.get("/search?near=Pioneer+Square&radius_km=50").get_data(as_text=True)
    block = confidential_block(html)
    row = re.search(rf'<li class="result" id="result-{world["dv"]}".*?</li>', block, re.S).group(0)
    assert 'href="tel:2065550199"' in row  # what to do: call
    assert "Spare capacity" in row and "3 h ago" in row
    assert "free" not in row and "of 8" not in row  # no counts for the public (public_counts off)
    for where in (" mi<", " km<", "Pioneer Square", "Test St", "47.61", "-122.33", 'class="distance"'):
        assert where not in row, where
    body = client.get("/api/v1/services?near=Pioneer+Square&radius_km=50").get_json()
    item = next(i for i in body["items"] if i["id"] == world["dv"])
    assert item["distance_km"] is None
    assert item["location"]["latitude"] is None and item["location"]["neighborhood"] is None


def test_staff_see_counts_in_words_with_their_age(client, session, world):
    sign_in(client, make_user(session, role="case_manager"))
    session.commit()
    html = client.get("/search?q=haven").get_data(as_text=True)
    row = re.search(rf'<li class="result" id="result-{world["dv"]}".*?</li>', html, re.S).group(0)
    assert "3 beds free, 3 h ago" in row


def test_results_say_open_now_closes_and_opens(client, session):
    # FIXED_NOW in the site's zone decides the weekday; build hours around it.
    from directory.domain.clock import SiteClock

    local = SiteClock(client.application.config["SITE"].time_zone).local(FIXED_NOW)
    day = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[local.weekday()]
    hour = local.hour
    assert 2 <= hour <= 21, "the fixed clock leaves room for an opening before and after it"
    open_one = make_service(session, name="Open One", schedules=((day, time(hour - 1), time(hour + 2)),))
    later = make_service(session, name="Later One", schedules=((day, time(hour + 1), time(hour + 2)),))
    session.commit()
    html = client.get("/search?q=one").get_data(as_text=True)
    row = re.search(rf'id="result-{open_one.id}".*?</li>', html, re.S).group(0)
    assert f"Open now · closes {hour + 2:02d}:00" in row
    row = re.search(rf'id="result-{later.id}".*?</li>', html, re.S).group(0)
    assert f"Closed · opens {hour + 1:02d}:00" in row


def test_distances_read_in_the_site_unit(client, session):
    make_service(
        session, name="Harbor Beds", capacity={"maximum": 5, "available": 2, "confirmed_at": fresh(FIXED_NOW)}
    )
    session.commit()
    html = client.get("/search?near=98104").get_data(as_text=True)
    assert re.search(r'<span class="distance">\d+\.\d mi</span>', html)


@pytest.mark.parametrize(
    ("near", "label"),
    [
        ("Pioneer Sq", "Pioneer Square"),
        ("2nd Ave & Jackson St, Seattle", "2nd Ave &amp; Jackson St"),
        ("Tacoma", "Tacoma, WA"),
    ],
)
def test_places_as_people_write_them_on_the_page(client, session, near, label):
    make_service(session, name="Near Everything", lat=47.6015, lon=-122.3343)
    session.commit()
    response = client.get("/search", query_string={"near": near, "radius_km": "60"})
    assert response.status_code == 200
    assert f"of {label}</h2>" in response.get_data(as_text=True)


def test_an_unknown_place_says_what_the_offline_geocoder_accepts(client):
    response = client.get("/api/v1/services", query_string={"near": "1 Nowhere Rd"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == "near"
    assert "lat,lon" in error["message"] and "GEOCODER" in error["message"] and "ZIP" in error["message"]
    page = client.get("/search", query_string={"near": "1 Nowhere Rd"})
    assert page.status_code == 400 and "GEOCODER" in page.get_data(as_text=True)


def test_an_ambiguous_start_names_the_places(client):
    response = client.get("/api/v1/services", query_string={"near": "Capitol"})
    assert response.status_code == 400
    assert "Capitol Hill, Capitol Hill Station" in response.get_json()["error"]["message"]


def test_radius_in_miles_and_the_old_radius_km_both_work(client, session):
    # 4 mi is 6.44 km: a service 5 km away is inside 4 mi and outside 3 mi (4.83 km).
    from geographiclib.geodesic import Geodesic

    end = Geodesic.WGS84.Direct(47.6036, -122.3256, 0, 5000)
    far = make_service(session, name="Five Km North", lat=end["lat2"], lon=end["lon2"])
    session.commit()

    def ids(**params):
        body = client.get("/api/v1/services", query_string={"lat": "47.6036", "lon": "-122.3256", **params})
        return [i["id"] for i in body.get_json()["items"]]

    assert ids(radius_mi="4") == [far.id]
    assert ids(radius_mi="3") == []
    assert ids(radius_km="5.1") == [far.id] and ids(radius_km="4.9") == []
    both = client.get("/api/v1/services?near=98104&radius_km=5&radius_mi=3")
    assert both.status_code == 400 and both.get_json()["error"]["field"] == "radius_mi"
    too_far = client.get("/api/v1/services?near=98104&radius_mi=125")
    assert too_far.status_code == 400 and too_far.get_json()["error"]["field"] == "radius_mi"
    # The page asks in the site's unit (miles) and says the radius in it.
    html = client.get("/search?lat=47.6036&lon=-122.3256&radius_mi=4").get_data(as_text=True)
    assert 'name="radius_mi"' in html and "Within (miles)" in html
    assert "within 4.0 mi of" in html


def test_the_page_offers_use_my_location_and_folds_to_a_summary(client, world):
    html = client.get("/search").get_data(as_text=True)
    assert "data-use-location hidden" in html  # shown by script only where the browser can locate
    assert 'class="search-summary"' not in html  # nothing to fold before a search
    html = client.get("/search?q=methadone&near=98104&radius_mi=5").get_data(as_text=True)
    summary = re.search(r'<p class="search-summary">.*?</p>', html, re.S).group(0)
    assert "“methadone”" in summary and "within 5.0 mi of 98104" in summary and "Edit search" in summary
    assert html.index('id="result-list"') < html.index('class="map-pane"')  # the list before the map
    assert re.search(r"/static/js/search\.[0-9a-f]{10}\.js", html)  # by content hash (issue 25)


@pytest.mark.parametrize("role", ["anonymous", "peer", "case_manager", "provider_other", "project_manager"])
def test_every_role_finds_the_dv_shelter_by_a_located_search_without_its_place(app, session, role):
    """The shared harness's world: its DV shelter is in the confidential group wherever the search is
    centred, and its coordinates appear nowhere (page and API)."""
    from tests.harness import DV_LATITUDE, DV_LONGITUDE, api_headers, build_world, signed_in

    world = build_world(session, app.config["SITE"])
    client = signed_in(app, world, role)
    for near in ("46.9,-123.5", "98104", "Belltown"):
        html = client.get("/search", query_string={"near": near, "radius_km": "1"}).get_data(as_text=True)
        assert world.ids["D"] in result_ids(confidential_block(html), "confidential-list"), near
        body = app.test_client().get(
            "/api/v1/services",
            query_string={"near": near, "radius_km": "1"},
            headers=api_headers(world, role),
        )
        item = next(i for i in body.get_json()["items"] if i["id"] == world.ids["D"])
        assert item["distance_km"] is None
        for text in (html, body.get_data(as_text=True)):
            assert str(DV_LATITUDE) not in text and str(DV_LONGITUDE) not in text


@pytest.mark.parametrize(
    ("status", "capacity", "expected"),
    [
        ("spare_capacity", {"unit": "bed", "available": 2, "waitlist": 0}, "2 beds free, 3 h ago"),
        ("spare_capacity", {"unit": "bed", "available": 1, "waitlist": 0}, "1 bed free, 3 h ago"),
        # Counts nulled for this viewer: the status word only.
        ("spare_capacity", {"unit": "bed", "available": None, "waitlist": None}, "Spare capacity, 3 h ago"),
        (
            "lead_funded",
            {"unit": "bed", "available": 0, "lead_funded_available": 1},
            "1 LEAD-funded bed free, 3 h ago",
        ),
        (
            "displacement",
            {"unit": "bed", "available": 1, "waitlist": 4},
            "Waitlist: would displace · 1 bed free, 4 waiting, 3 h ago",
        ),
        ("full", {"unit": "bed", "available": 0, "waitlist": 3}, "Full · 3 waiting, 3 h ago"),
        ("unverified", {"unit": "bed", "available": 3, "waitlist": 0}, "Unverified: call first, 3 h ago"),
    ],
)
def test_status_in_words(status, capacity, expected):
    from directory.web.results import status_words

    assert status_words(None, status, {"capacity": capacity}, {"bed": ("Bed", "Beds")}, "3 h ago") == expected
    assert status_words(None, "open_access", {"capacity": None}, {}, "never confirmed") == "Open access"


def test_results_read_monthly_openings_and_hours_kept_as_written(client, session):
    # FIXED_NOW is Tuesday 24 November 2026, 10:00 in Seattle: the fourth Tuesday of the month.
    fourth = make_service(session, name="Fourth Tuesday Pantry", schedules=(("4TU", time(9), time(12)),))
    second = make_service(session, name="Second Tuesday Pantry", schedules=(("2TU", time(9), time(12)),))
    first_wed = make_service(session, name="First Wednesday Pantry", schedules=(("1WE", time(9), time(12)),))
    written = make_service(session, name="Written Pantry", hours_text="ask at the church office")
    session.commit()
    html = client.get("/search?q=pantry").get_data(as_text=True)

    def row(service):
        return re.search(rf'id="result-{service.id}".*?</li>', html, re.S).group(0)

    assert "Open now · closes 12:00" in row(fourth)
    assert "Closed · opens Tue, Dec 8 09:00" in row(second)  # 10 November has passed; next is 8 December
    assert "Closed · opens Wed, Dec 2 09:00" in row(first_wed)
    assert "Hours unknown — call" in row(written)
