"""Nothing public can be derived, located or revealed: confidential locations, hidden badges (derived values
and filter membership), live counts, and `public_read = false`, tried as an outsider with no account."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from sqlalchemy import select

from directory.domain.disclosure import disclosure_for
from directory.domain.records import load_records
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


def close_pool(app) -> None:
    """Close an app's connections (PostgreSQL copies a template only while nobody is connected to it)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def outsider(demo_app):
    """An anonymous client of the shared demo site; its connections closed afterwards, so that later tests
    can still copy the demo database on PostgreSQL."""
    yield demo_app.test_client()
    close_pool(demo_app)


@pytest.fixture
def demo_copy(databases, demo_database_url, demo_app):
    """A writable copy of the demo site."""
    close_pool(demo_app)  # whatever test used it last may have left a connection open
    app = make_app(databases.copy(demo_database_url), CLOCK=lambda: FIXED_NOW)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- 2. Confidential locations --------------------------------------------------------------------------


def dv_shelter(session) -> Service:
    return session.scalar(select(Service).where(Service.name == "Safe Harbor Confidential Shelter"))


def test_a_confidential_location_says_nothing_about_where_it_is(demo_app, outsider):
    demo_client = outsider
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


def test_a_located_search_never_places_a_confidential_location(demo_app, outsider):
    demo_client = outsider
    with demo_app.app_context():
        shelter_id = dv_shelter(db.session).id
    for near in ("First Hill", "98104", "47.609,-122.324"):
        body = demo_client.get(f"/api/v1/services?near={near}&radius_km=200&per_page=100").get_json()
        for item in body["items"]:
            if item["id"] == shelter_id:
                # Listed after the located items (issue 20), never with a distance.
                assert item["distance_km"] is None and item["location"]["neighborhood"] is None
        html = demo_client.get(f"/search?near={near}&category=housing").get_data(as_text=True)
        assert f'"id": {shelter_id},' not in html and f"[{shelter_id}," not in html  # not among the markers


# --- 3. Hidden badges -------------------------------------------------------------------------------------


def anonymous_views(app, client, staff: bool = False) -> dict[int, dict]:
    """Everything an outsider can learn about each service: its JSON, its page, its map marker, and which
    filtered searches list it (`staff`: the JSON and filters a staff account gets, as a control)."""
    with app.app_context():
        session = db.session
        session.expire_all()
        site = app.config["SITE"]
        public = disclosure_for(site, staff=staff)
        reference = Reference.load(session)
        members: dict[str, set[int]] = {}
        for extra in FILTERS:
            found: set[int] = set()
            page_number = 1
            while True:
                query = parse_query({"per_page": "100", "page": str(page_number), **extra}, reference)
                page = search(
                    session, dataclasses.replace(query, disclosure=public), site, FIXED_NOW, reference
                )
                found |= {s.id for s, _ in page.items}
                if page_number * 100 >= page.total:
                    break
                page_number += 1
            members[json.dumps(extra)] = found
        views = {}
        ids = session.scalars(select(Service.id).order_by(Service.id)).all()
        services = load_records(session, ids)
        for service_id in ids:
            service = services[service_id]
            views[service_id] = {
                "json": serializers.service_dict(service, FIXED_NOW, site, staff),
                "members": {name: service_id in found for name, found in members.items()},
            }
            if not staff:
                with app.test_request_context():
                    views[service_id]["marker"] = mapview.marker_row(service, None, FIXED_NOW, site)
        session.rollback()
    if staff:
        return views
    for service_id, view in views.items():
        page = client.get(f"/services/{service_id}").get_data(as_text=True)
        article = re.search(r"<article.*?</article>", page, re.S).group(0)
        view["page"] = re.sub(r'nonce="[^"]*"|[0-9a-f]{32}', "", article)  # per-request nonces, folium's ids
    return views


LEAD = ("lead_funded_maximum", "lead_funded_available", "held_lead")


def flip_all(app, attribute: str, saved: dict | None = None) -> dict:
    """Give every service the other value of a hidden attribute, keeping the schema's rules: a service that
    stops being LEAD-fundable loses its LEAD-funded units (given back from `saved` on the way back). Returns
    the LEAD-funded numbers to restore, and each service's attribute as staff see it before the flip."""
    with app.app_context():
        session = db.session
        services = session.scalars(select(Service).order_by(Service.id)).all()
        capacities = {c.service_id: c for c in session.scalars(select(ServiceCapacity))}
        before = {"lead": {}, "values": {s.id: getattr(s, attribute) for s in services}}
        plans = []
        for service in services:
            flipped = not getattr(service, attribute)
            fundable = LEAD_FUNDABLE.holds(
                lambda name, s=service, f=flipped: f if name == attribute else getattr(s, name),
                service.primary_domain,
            )
            capacity = capacities.get(service.id)
            if capacity is not None:
                before["lead"][service.id] = {name: getattr(capacity, name) for name in LEAD}
                if not fundable:
                    for name in LEAD:
                        setattr(capacity, name, 0)
            plans.append((service, flipped, fundable))
        session.flush()  # LEAD units go before their service stops being fundable
        for service, flipped, fundable in plans:
            setattr(service, attribute, flipped)
            service.lead_fundable = fundable
        session.flush()
        for service, _, fundable in plans:
            capacity = capacities.get(service.id)
            if capacity is not None and fundable and saved:
                for name, value in saved["lead"][service.id].items():
                    setattr(capacity, name, value)
        session.commit()
        return before


def test_no_hidden_badge_can_be_derived_by_an_outsider(demo_copy):
    """For every demo service and every attribute the site hides: give it the other value and check that
    nothing an outsider sees of it changes (so both values stay possible), while staff see the change.

    Every service is given its other value at once: what an outsider sees of one service depends only on
    that service (its JSON, page and marker, and whether each filter lists it), so this is the same as
    trying each service alone."""
    app, client = demo_copy, demo_copy.test_client()
    site = app.config["SITE"]
    hidden = sorted(disclosure_for(site, staff=False).hidden - {"lead_fundable"})
    assert hidden == ["accepts_sex_workers"]  # the demo site's choice
    before = anonymous_views(app, client)
    staff_before = anonymous_views(app, client, staff=True)
    assert len(before) >= 300
    for attribute in hidden:
        saved = flip_all(app, attribute)
        after = anonymous_views(app, client)
        staff_after = anonymous_views(app, client, staff=True)
        restored = flip_all(app, attribute, saved)
        # Control: the same comparison on what staff get tells every flipped value apart.
        assert all(staff_after[i]["json"] != staff_before[i]["json"] for i in before)
        staff_filters = [i for i in before if staff_after[i]["members"] != staff_before[i]["members"]]
        assert len(staff_filters) > 50  # low_barrier membership alone gave these away before this work
        # The flip happened (staff see every value change) and was undone.
        assert all(restored["values"][i] is not saved["values"][i] for i in before)
        changed = [i for i in before if after[i] != before[i]]
        assert changed == [], [(i, attribute) for i in changed[:5]]


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
    # Outside housing, LEAD-fundability does not depend on the hidden badge: the status is public.
    pantry = make_service(
        session,
        name="Purchased Slots",
        domain="food",
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
    shown = client.get(f"/api/v1/services/{pantry.id}").get_json()
    assert shown["capacity"]["status"] == "lead_funded" and shown["attributes"]["lead_fundable"] is True
    assert shown["capacity"]["lead_funded_available"] is None  # a count: public_counts is off
    listed = client.get("/api/v1/services?availability=lead_funded").get_json()["items"]
    assert [item["id"] for item in listed] == [pantry.id]


def all_items(client, query: str = "") -> list[dict]:
    items, page = [], 1
    while True:
        body = client.get(f"/api/v1/services?per_page=100&page={page}&{query}").get_json()
        items += body["items"]
        if page * 100 >= body["total"]:
            return items
        page += 1


def test_the_public_filters_agree_with_the_public_statuses_and_badges(outsider):
    """Filter membership tells an outsider nothing that the listing's own fields do not already say."""
    demo_client = outsider
    everything = {item["id"]: item for item in all_items(demo_client)}
    for availability, statuses in (
        ("lead_funded", {"lead_funded"}),
        ("spare", {"spare_capacity"}),
        ("open", {"lead_funded", "spare_capacity"}),
    ):
        members = {item["id"] for item in all_items(demo_client, f"availability={availability}")}
        expected = {i for i, item in everything.items() if (item["capacity"] or {}).get("status") in statuses}
        assert members == expected, availability
    not_low = {item["id"] for item in all_items(demo_client, "low_barrier=false")}
    assert not_low == {i for i, item in everything.items() if item["attributes"]["low_barrier"] is False}


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
