"""Nothing public can be derived, located or revealed: confidential locations, hidden badges (derived values
and filter membership), live counts, and `public_read = false`, tried as an outsider with no account."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from sqlalchemy import select

from directory.domain.disclosure import disclosure_for
from directory.domain.reference import Reference
from directory.domain.rules import LEAD_FUNDABLE
from directory.domain.search import load_service, parse_query, search
from directory.extensions import db
from directory.models import Service, ServiceCapacity, SitePlace
from directory.web import mapview, serializers
from tests.conftest import FIXED_NOW, make_app
from tests.factories import LOW_BARRIER, fresh, make_service, make_token, make_user
from tests.integration.test_transparency_publish import site_file

FILTERS = (
    {},
    {"low_barrier": "true"},
    {"low_barrier": "false"},
    {"availability": "lead_funded"},
    {"availability": "spare"},
    {"availability": "open"},
)


def staff_headers(session, role="case_manager"):
    """A bearer token of a signed-in staff account."""
    return {"Authorization": f"Bearer {make_token(session, make_user(session, role=role))}"}


@pytest.fixture
def demo_copy(databases, demo_database_url):
    """A writable copy of the demo site."""
    app = make_app(databases.copy(demo_database_url), CLOCK=lambda: FIXED_NOW)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- 2. Confidential locations --------------------------------------------------------------------------


def dv_shelter(session) -> Service:
    return session.scalar(select(Service).where(Service.name == "Safe Harbor Confidential Shelter"))


def test_a_confidential_location_says_nothing_about_where_it_is(demo_app, demo_client):
    with demo_app.app_context():
        shelter = dv_shelter(db.session)
        places = [p.name for p in db.session.scalars(select(SitePlace))]
        staff_view = serializers.location_dict(load_service(db.session, shelter.id), staff=True)
        shelter_id = shelter.id
    assert staff_view["neighborhood"] == "First Hill"  # staff may know; the demo stores it
    body = demo_client.get(f"/api/v1/services/{shelter_id}").get_json()
    assert body["location"] == {
        "address": None,
        "latitude": None,
        "longitude": None,
        "precision": None,
        "neighborhood": None,
        "confidential": True,
    }
    text = json.dumps(body)
    assert not [name for name in places if name in text]
    # The public list: the shelter's entry names no place; a search by a place's name finds nothing of it.
    listed = demo_client.get("/api/v1/services?q=Safe+Harbor").get_json()["items"]
    entry = next(item for item in listed if item["id"] == shelter_id)
    assert entry["location"]["neighborhood"] is None and "distance_km" not in entry
    html = demo_client.get("/search?q=Safe+Harbor").get_data(as_text=True)
    item = re.search(rf'<li class="result" id="result-{shelter_id}".*?</li>', html, re.S).group(0)
    assert not [name for name in places if name in item]
    page = demo_client.get(f"/services/{shelter_id}").get_data(as_text=True)
    article = re.search(r"<article.*?</article>", page, re.S).group(0)
    assert not [name for name in places if name in article]
    assert "Confidential location" in article and "km" not in article


def test_a_located_search_never_places_a_confidential_location(demo_app, demo_client):
    with demo_app.app_context():
        shelter_id = dv_shelter(db.session).id
    for near in ("First Hill", "98104", "47.609,-122.324"):
        body = demo_client.get(f"/api/v1/services?near={near}&radius_km=200&per_page=100").get_json()
        for item in body["items"]:
            if item["id"] == shelter_id:
                assert "distance_km" not in item and item["location"]["neighborhood"] is None
        html = demo_client.get(f"/search?near={near}&category=housing").get_data(as_text=True)
        assert f'"id": {shelter_id},' not in html and f"[{shelter_id}," not in html  # not among the markers


# --- 3. Hidden badges -------------------------------------------------------------------------------------


def anonymous_view(app, client, service_id: int, name: str) -> dict:
    """Everything an outsider can learn about one service: its JSON, its page, its map marker, and which
    filtered searches (narrowed to its name) list it."""
    with app.app_context():
        session = db.session
        session.expire_all()
        site = app.config["SITE"]
        service = load_service(session, service_id)
        data = serializers.service_dict(service, FIXED_NOW, site, False)
        public = disclosure_for(site, staff=False)
        members = {}
        reference = Reference.load(session)
        for extra in FILTERS:
            query = parse_query({"q": name, "per_page": "100", **extra}, reference)
            page = search(session, dataclasses.replace(query, disclosure=public), site, FIXED_NOW, reference)
            members[json.dumps(extra)] = service_id in {s.id for s, _ in page.items}
        with app.test_request_context():
            marker = mapview.marker_row(service, None, FIXED_NOW, site)
        session.rollback()
    page = client.get(f"/services/{service_id}").get_data(as_text=True)
    article = re.search(r"<article.*?</article>", page, re.S).group(0)
    article = re.sub(r'nonce="[^"]*"|[0-9a-f]{32}', "", article)  # per-request nonces, folium's element ids
    return {"json": data, "members": members, "page": article, "marker": marker}


def flip(app, service_id: int, attribute: str, saved: dict | None = None) -> dict:
    """Give a service the other value of a hidden attribute, keeping the schema's rules: a service that stops
    being LEAD-fundable loses its LEAD-funded units. Returns what to restore."""
    with app.app_context():
        session = db.session
        service = session.get(Service, service_id)
        capacity = session.scalar(select(ServiceCapacity).where(ServiceCapacity.service_id == service_id))
        lead = ("lead_funded_maximum", "lead_funded_available", "held_lead")
        before = {name: getattr(capacity, name) for name in lead} if capacity is not None else {}
        flipped = not getattr(service, attribute)
        fundable = LEAD_FUNDABLE.holds(
            lambda name: flipped if name == attribute else getattr(service, name), service.primary_domain
        )
        if capacity is not None and not fundable:
            for name in lead:
                setattr(capacity, name, 0)
            session.flush()
        setattr(service, attribute, flipped)
        service.lead_fundable = fundable
        session.flush()
        if capacity is not None and fundable and saved:
            for name, value in saved.items():
                setattr(capacity, name, value)
        session.commit()
        return before


def test_no_hidden_badge_can_be_derived_by_an_outsider(demo_copy):
    """For every demo service and every attribute the site hides: give it the other value (a world the
    outsider cannot rule out) and check that nothing an outsider sees changes, while staff see the change."""
    app, client = demo_copy, demo_copy.test_client()
    site = app.config["SITE"]
    hidden = sorted(disclosure_for(site, staff=False).hidden - {"lead_fundable"})
    assert hidden == ["accepts_sex_workers"]  # the demo site's choice
    with app.app_context():
        services = db.session.execute(select(Service.id, Service.name).order_by(Service.id)).all()
    checked = 0
    for service_id, name in services:
        before = anonymous_view(app, client, service_id, name)
        assert before["members"]["{}"], name  # the narrowed search finds it: membership is observed
        for attribute in hidden:
            with app.app_context():
                staff_before = serializers.service_dict(
                    load_service(db.session, service_id), FIXED_NOW, site, True
                )["attributes"][attribute]
            saved = flip(app, service_id, attribute)
            after = anonymous_view(app, client, service_id, name)
            with app.app_context():
                staff_after = serializers.service_dict(
                    load_service(db.session, service_id), FIXED_NOW, site, True
                )["attributes"][attribute]
            flip(app, service_id, attribute, saved)
            assert staff_after is not staff_before  # the flip happened, and staff see it
            assert after == before, (name, attribute)
            checked += 1
    assert checked == len(services) >= 300


def test_filters_select_by_public_attributes_only(client, session):
    # Four public low-barrier attributes true; the hidden fifth differs between the two.
    welcoming = make_service(session, name="Welcoming Beds", domain="food", **LOW_BARRIER)
    closed = make_service(
        session, name="Closed Door Beds", domain="food", **{**LOW_BARRIER, "accepts_sex_workers": False}
    )
    refusing = make_service(
        session, name="Sober Beds", domain="food", **{**LOW_BARRIER, "no_sobriety_requirement": False}
    )
    session.commit()
    ids = lambda query: {i["id"] for i in client.get(f"/api/v1/services?{query}").get_json()["items"]}  # noqa: E731
    assert ids("low_barrier=true") == {welcoming.id, closed.id}
    assert ids("low_barrier=false") == {refusing.id}
    attributes = client.get(f"/api/v1/services/{welcoming.id}").get_json()["attributes"]
    assert attributes["accepts_sex_workers"] is None and attributes["low_barrier"] is None
    # Decided by a public attribute: published.
    assert client.get(f"/api/v1/services/{refusing.id}").get_json()["attributes"]["low_barrier"] is False
    # Staff see and filter by the truth.
    headers = staff_headers(session)
    staff_ids = {
        i["id"] for i in client.get("/api/v1/services?low_barrier=true", headers=headers).get_json()["items"]
    }
    assert staff_ids == {welcoming.id}
    assert (
        client.get(f"/api/v1/services/{welcoming.id}", headers=headers).get_json()["attributes"][
            "low_barrier"
        ]
        is True
    )


def test_lead_funded_status_and_figures_stay_with_staff(client, session):
    lead = make_service(
        session,
        name="Purchased Units",
        capacity={
            "maximum": 4,
            "available": 0,
            "waitlist": 0,
            "lead_funded_maximum": 2,
            "lead_funded_available": 1,
            "confirmed_at": fresh(FIXED_NOW),
        },
        **LOW_BARRIER,
    )
    session.commit()
    public = client.get(f"/api/v1/services/{lead.id}").get_json()
    assert public["capacity"]["status"] == "full"  # what its general units give
    assert public["attributes"]["lead_fundable"] is None  # housing: it would reveal accepting sex work
    assert client.get("/api/v1/services?availability=lead_funded").get_json()["total"] == 0
    html = client.get("/search?q=Purchased").get_data(as_text=True)
    listed = re.search(r'<ol class="result-list".*?</ol>', html, re.S).group(0)
    assert 'data-status="full"' in listed and "LEAD-funded" not in listed
    staff = client.get(f"/api/v1/services/{lead.id}", headers=staff_headers(session)).get_json()
    assert staff["capacity"]["status"] == "lead_funded" and staff["capacity"]["lead_funded_available"] == 1


# --- 4. Live counts ---------------------------------------------------------------------------------------


def test_outsiders_see_the_status_word_and_its_age_only(client, session):
    service = make_service(
        session,
        name="Counted Beds",
        capacity={
            "maximum": 9,
            "available": 7,
            "waitlist": 0,
            "held_general": 3,
            "confirmed_at": fresh(FIXED_NOW),
        },
    )
    session.commit()
    capacity = client.get(f"/api/v1/services/{service.id}").get_json()["capacity"]
    numbers = (
        "maximum",
        "available",
        "waitlist",
        "held_general",
        "lead_funded_maximum",
        "lead_funded_available",
        "held_lead",
    )
    assert all(capacity[name] is None for name in numbers)
    assert capacity["status"] == "spare_capacity" and capacity["confirmed_at"] == "2026-11-24T17:55:00Z"
    page = client.get(f"/services/{service.id}").get_data(as_text=True)
    assert "Spare capacity" in page and "5 min ago" in page
    assert "Held for referrals" not in page and "of 9" not in page and "LEAD-funded free" not in page
    headers = staff_headers(session, role="project_manager")
    assert (
        client.get(f"/api/v1/services/{service.id}", headers=headers).get_json()["capacity"]["held_general"]
        == 3
    )


def test_a_site_may_opt_in_to_public_counts(app, tmp_path):
    with app.app_context():
        service = make_service(
            db.session,
            name="Open Book Beds",
            capacity={
                "maximum": 9,
                "available": 7,
                "waitlist": 0,
                "held_general": 3,
                "confirmed_at": fresh(FIXED_NOW),
            },
        )
        db.session.commit()
        service_id = service.id
    counted = make_app(
        app.config["DATABASE_URL"],
        CLOCK=lambda: FIXED_NOW,
        SITE_CONFIG=site_file(tmp_path, public_counts="true"),
    )
    client = counted.test_client()
    capacity = client.get(f"/api/v1/services/{service_id}").get_json()["capacity"]
    assert (capacity["available"], capacity["held_general"], capacity["maximum"]) == (7, 3, 9)
    assert "Held for referrals" in client.get(f"/services/{service_id}").get_data(as_text=True)


# --- 5. public_read = false --------------------------------------------------------------------------------


def test_public_read_false_closes_every_directory_read(app, tmp_path):
    with app.app_context():
        service_id = make_service(db.session, name="Private Listing").id
        headers = staff_headers(db.session)
        db.session.commit()
    closed = make_app(
        app.config["DATABASE_URL"],
        CLOCK=lambda: FIXED_NOW,
        SITE_CONFIG=site_file(tmp_path, public_read="false"),
    )
    client = closed.test_client()
    for path in (
        "/api/v1/services",
        "/api/v1/services?near=98104",
        f"/api/v1/services/{service_id}",
        "/api/v1/taxonomy",
    ):
        response = client.get(path)
        assert response.status_code == 401 and "Private Listing" not in response.get_data(as_text=True), path
        assert response.get_json()["error"]["code"]
    for path in ("/search?q=private", f"/services/{service_id}", "/search?near=98104"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
        assert "Private Listing" not in response.get_data(as_text=True)
    # Signed-in accounts still read; the transparency figures (aggregates) stay public.
    assert client.get(f"/api/v1/services/{service_id}", headers=headers).status_code == 200
    assert client.get("/api/v1/transparency").status_code == 200
