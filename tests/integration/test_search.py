"""Search against a database: exact distances, filters, ordering, paging, confidentiality."""

import dataclasses
import itertools
from datetime import time, timedelta

import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from directory.domain import capacity as cap
from directory.domain.errors import ValidationError
from directory.domain.reference import Reference
from directory.domain.search import parse_query, search
from directory.models import Service, ServiceCapacity
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_service

CENTER = (47.6036, -122.3256)


def at(distance_km: float, bearing: float = 90.0) -> tuple[float, float]:
    """The point at an exact geodesic distance and bearing from CENTER."""
    end = Geodesic.WGS84.Direct(CENTER[0], CENTER[1], bearing, distance_km * 1000)
    return end["lat2"], end["lon2"]


def run(app, session, **params):
    site = app.config["SITE"]
    query = parse_query(params, Reference.load(session), None, site.default_radius_km)
    return search(session, query, site, FIXED_NOW)


def names(page):
    return [service.name for service, _ in page.items]


def test_radius_is_exact_and_results_are_nearest_first(app, session):
    for name, distance, bearing in [
        ("inside", 4.99, 90),
        ("outside", 5.001, 90),
        ("near", 1.0, 0),
        ("edge", 4.999, 200),
    ]:
        lat, lon = at(distance, bearing)
        make_service(session, name=name, lat=lat, lon=lon)
    page = run(app, session, lat=str(CENTER[0]), lon=str(CENTER[1]), radius_km="5")
    assert names(page) == ["near", "inside", "edge"]
    assert page.total == 3
    distances = [d for _, d in page.items]
    assert distances == pytest.approx([1.0, 4.99, 4.999], abs=1e-6)


def test_without_location_sorted_by_name_then_id(app, session):
    for name in ["beta", "Alpha", "alpha", "Gamma"]:
        make_service(session, name=name)
    page = run(app, session)
    ordered = sorted(((s.name, s.id) for s, _ in page.items))
    assert [(s.name, s.id) for s, _ in page.items] == ordered
    assert all(distance is None for _, distance in page.items)


def test_paging_and_past_the_end(app, session):
    for i in range(7):
        make_service(session, name=f"svc {i}")
    first = run(app, session, per_page="3")
    third = run(app, session, per_page="3", page="3")
    beyond = run(app, session, per_page="3", page="4")
    assert (first.total, names(first)) == (7, ["svc 0", "svc 1", "svc 2"])
    assert names(third) == ["svc 6"]
    assert (beyond.total, beyond.items) == (7, [])


def test_category_matches_domain_and_sub_terms(app, session):
    make_service(session, name="bed", domain="housing")
    make_service(session, name="tagged", domain="harm_reduction", terms=("housing.emergency_shelter",))
    make_service(session, name="food", domain="food")
    # A domain matches its own services and those tagged with one of its terms.
    assert sorted(names(run(app, session, category="housing"))) == ["bed", "tagged"]
    assert names(run(app, session, category="housing.emergency_shelter")) == ["tagged"]
    assert names(run(app, session, category="food")) == ["food"]


def test_language_population_and_attribute_filters(app, session):
    make_service(session, name="es", languages=("en", "es"))
    make_service(session, name="en", languages=("en",))
    make_service(session, name="women", populations=("women",))
    make_service(session, name="low", domain="harm_reduction", **LOW_BARRIER)
    make_service(session, name="hf", domain="housing", housing_first=True, **LOW_BARRIER)
    assert names(run(app, session, language="Spanish")) == ["es"]
    assert names(run(app, session, language="ES")) == ["es"]
    assert names(run(app, session, population="women")) == ["women"]
    assert sorted(names(run(app, session, low_barrier="true"))) == ["hf", "low"]
    assert "low" not in names(run(app, session, low_barrier="false"))
    assert names(run(app, session, housing_first="1")) == ["hf"]


def test_availability_filter_uses_the_classification(app, session):
    now = FIXED_NOW
    make_service(
        session,
        name="spare",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(now)},
    )
    make_service(
        session,
        name="lead",
        capacity={
            "maximum": 5,
            "available": 0,
            "waitlist": 3,
            "lead_funded_maximum": 2,
            "lead_funded_available": 1,
            "confirmed_at": fresh(now),
        },
        **LOW_BARRIER,
    )
    make_service(
        session,
        name="wait",
        capacity={"maximum": 5, "available": 1, "waitlist": 4, "confirmed_at": fresh(now)},
    )
    make_service(
        session,
        name="stale",
        capacity={"maximum": 5, "available": 5, "waitlist": 0, "confirmed_at": now - timedelta(days=3)},
    )
    make_service(session, name="open", capacity=None)
    assert names(run(app, session, availability="spare")) == ["spare"]
    assert names(run(app, session, availability="lead_funded")) == ["lead"]
    assert sorted(names(run(app, session, availability="open"))) == ["lead", "spare"]
    assert len(run(app, session, availability="any").items) == 5


def test_open_now_in_site_time(app, session):
    # FIXED_NOW is Tuesday 10:00 in Seattle.
    make_service(session, name="day", schedules=(("TU", time(9), time(17)),))
    make_service(session, name="overnight", schedules=(("MO", time(21), time(11)),))
    make_service(session, name="evening", schedules=(("TU", time(18), time(23)),))
    make_service(session, name="ended", schedules=(("MO", time(21), time(9, 59)),))
    assert sorted(names(run(app, session, open_now="true"))) == ["day", "overnight"]
    assert sorted(names(run(app, session, open_now="false"))) == ["ended", "evening"]


def test_keywords_match_prefixes_in_name_organization_and_description(app, session):
    make_service(session, name="Night Shelter", description="Mats and blankets")
    make_service(session, name="Café Clinic", description="Wound care")
    other = make_service(session, name="Food Bank")
    other.organization.name = "Shelterwood Partners"
    session.flush()
    assert sorted(names(run(app, session, q="shelt"))) == ["Food Bank", "Night Shelter"]
    assert names(run(app, session, q="night blankets")) == ["Night Shelter"]
    assert names(run(app, session, q="cafe")) == ["Café Clinic"]
    assert names(run(app, session, q="wound clinic")) == ["Café Clinic"]
    assert names(run(app, session, q="night wound")) == []


def test_renaming_reindexes(app, session):
    service = make_service(session, name="Old Name")
    service.name = "Brand New"
    session.flush()
    assert names(run(app, session, q="old")) == []
    assert names(run(app, session, q="brand")) == ["Brand New"]


def test_confidential_locations_are_never_placed_by_distance(app, session):
    make_service(session, name="dv", lat=CENTER[0], lon=CENTER[1], confidential=True)
    make_service(session, name="public", lat=CENTER[0], lon=CENTER[1])
    page = run(app, session, near="98104")
    # The confidential one comes after the located ones, with no distance: it is never placed.
    assert [(service.name, distance is None) for service, distance in page.items] == [
        ("public", False),
        ("dv", True),
    ]
    assert [service.name for service, _ in page.items if service.id in page.confidential] == ["dv"]
    assert sorted(names(run(app, session))) == ["dv", "public"]


def test_inactive_services_are_hidden(app, session):
    make_service(session, name="gone", status="inactive")
    make_service(session, name="here")
    assert names(run(app, session)) == ["here"]


def test_sql_status_agrees_with_the_rule(app, session):
    """Every combination of counts around the boundaries, classified by SQL and by Python."""
    now = FIXED_NOW
    window = timedelta(hours=app.config["SITE"].freshness_hours["bed"])
    confirmations = [None, now - timedelta(minutes=1), now - window, now - window - timedelta(seconds=1)]
    lead_options = [(0, 0, 0), (1, 1, 0), (1, 1, 1), (2, 1, 0), (2, 2, 3)]
    expected = {}
    combos = itertools.product(
        [None, 0, 1, 2], [None, 0, 1, 2], [0, 1, 3], lead_options, confirmations, [False, True]
    )
    for available, waitlist, held, (lmax, lavail, lheld), confirmed, coordinated in combos:
        service = make_service(
            session,
            coordinated_entry=coordinated,
            capacity={
                "maximum": 2,
                "available": available,
                "waitlist": waitlist,
                "held_general": held,
                "lead_funded_maximum": lmax,
                "lead_funded_available": lavail,
                "held_lead": lheld,
                "confirmed_at": confirmed,
            },
            **LOW_BARRIER,
        )
        numbers = cap.Numbers.of(service.capacity)
        expected[service.id] = cap.classify(numbers, coordinated, now, app.config["SITE"].freshness_hours)
    untracked = make_service(session, capacity=None)
    expected[untracked.id] = cap.OPEN_ACCESS
    assert len(set(expected.values())) == len(cap.CLASSIFICATIONS)
    status = cap.status_sql(
        ServiceCapacity.__table__, Service.coordinated_entry, now, app.config["SITE"].freshness_hours
    )
    rows = session.execute(
        select(Service.id, status).outerjoin(ServiceCapacity, ServiceCapacity.service_id == Service.id)
    ).all()
    got = dict(rows)
    mismatches = {sid: (expected[sid], got[sid]) for sid in expected if expected[sid] != got[sid]}
    assert mismatches == {}


def test_sql_status_agrees_with_the_rule_on_field_reports(app, session):
    """The same agreement with a field report's time on the row (domain.md, reports from the field): before,
    at and after the confirmation, within and past its window, on every unit type's window."""
    now = FIXED_NOW
    hours = app.config["SITE"].freshness_hours
    expected, reported_unverified = {}, 0
    for unit in ("shelter_bed", "bed", "slot"):
        window = timedelta(hours=hours[unit])
        confirmations = [None, now - timedelta(minutes=10), now - window + timedelta(minutes=5)]
        for confirmed in confirmations:
            base = confirmed or now - timedelta(minutes=10)
            reports = [
                None,
                base - timedelta(seconds=1),
                base,
                base + timedelta(seconds=1),
                now - window,
                now - window - timedelta(seconds=1),
                now,
            ]
            combos = itertools.product(reports, [0, 2], [0, 1], [(0, 0, 0), (1, 1, 0)], [False, True])
            for reported, available, waitlist, (lmax, lavail, lheld), coordinated in combos:
                service = make_service(
                    session,
                    coordinated_entry=coordinated,
                    capacity={
                        "unit_id": unit,
                        "maximum": 2,
                        "available": available,
                        "waitlist": waitlist,
                        "lead_funded_maximum": lmax,
                        "lead_funded_available": lavail,
                        "held_lead": lheld,
                        "confirmed_at": confirmed,
                        "reported_at": reported,
                    },
                    **LOW_BARRIER,
                )
                numbers = cap.Numbers.of(service.capacity)
                expected[service.id] = cap.classify(numbers, coordinated, now, hours)
                without = cap.classify(
                    dataclasses.replace(numbers, reported_at=None), coordinated, now, hours
                )
                reported_unverified += expected[service.id] == cap.UNVERIFIED != without
    # The reports decide some classifications (the test is not vacuous), and SQL agrees on all of them.
    assert reported_unverified > 50
    status = cap.status_sql(ServiceCapacity.__table__, Service.coordinated_entry, now, hours)
    rows = session.execute(
        select(Service.id, status).outerjoin(ServiceCapacity, ServiceCapacity.service_id == Service.id)
    ).all()
    got = dict(rows)
    mismatches = {sid: (expected[sid], got[sid]) for sid in expected if expected[sid] != got[sid]}
    assert mismatches == {}


def test_paging_follows_the_exact_order_even_where_the_sphere_disagrees(app, session):
    """Services at nearly equal distances in every direction: the sphere orders them differently."""
    import random

    rng = random.Random(4)
    expected = []
    for i in range(150):
        distance = 3.0 + rng.uniform(-0.02, 0.02)  # within the sphere's error of each other
        bearing = rng.uniform(0, 360)
        lat, lon = at(distance, bearing)
        service = make_service(session, name=f"s{i:03d}", lat=lat, lon=lon)
        exact = Geodesic.WGS84.Inverse(CENTER[0], CENTER[1], lat, lon)["s12"] / 1000
        expected.append((exact, service.name))
    expected.sort()
    got = []
    for page in range(1, 9):
        result = run(
            app, session, lat=str(CENTER[0]), lon=str(CENTER[1]), radius_km="5", per_page="20", page=str(page)
        )
        assert result.total == 150
        got.extend((d, s.name) for s, d in result.items)
    assert [name for _, name in got] == [name for _, name in expected]
    assert [d for d, _ in got] == pytest.approx([d for d, _ in expected], abs=1e-9)


def test_light_records_present_exactly_like_the_orm(demo_app):
    """The result list's Core-loaded records give the same JSON as the ORM objects of the service page."""
    from directory.domain.records import load_records
    from directory.domain.search import load_service
    from directory.extensions import db
    from directory.web import serializers

    with demo_app.test_request_context():
        ids = list(db.session.scalars(select(Service.id).order_by(Service.id)))
        records = load_records(db.session, ids)
        site = demo_app.config["SITE"]
        for staff in (False, True):
            for service_id in ids:
                orm = serializers.service_dict(
                    load_service(db.session, service_id), FIXED_NOW, site, staff, 1.5
                )
                light = serializers.service_dict(records[service_id], FIXED_NOW, site, staff, 1.5)
                assert light == orm


def test_keywords_find_medications_brand_names_and_tags(app, session):
    """Each word finds the service's text or its tags; brand names and abbreviations go through the synonym
    table (data/taxonomy.toml)."""
    make_service(session, name="Clinic B", domain="substance_use_treatment", moud_buprenorphine=True)
    make_service(session, name="Clinic M", domain="substance_use_treatment", moud_methadone=True)
    make_service(session, name="Clinic N", domain="substance_use_treatment", moud_naltrexone=True)
    make_service(
        session,
        name="Sobering Unit",
        domain="substance_use_treatment",
        terms=("substance_use_treatment.withdrawal_management",),
    )
    make_service(session, name="Outreach", domain="harm_reduction", terms=("harm_reduction.naloxone",))
    make_service(session, name="Text Only", description="Medically supported withdrawal management on site.")
    make_service(session, name="Casa", languages=("es",), populations=("latinx",))
    make_service(session, name="Nothing Relevant")

    def found(q):
        return sorted(names(run(app, session, q=q)))

    assert found("methadone") == ["Clinic M"]
    assert found("buprenorphine") == ["Clinic B"]
    assert found("Suboxone") == ["Clinic B"]
    assert found("vivitrol") == ["Clinic N"]
    assert found("MAT") == ["Clinic B", "Clinic M", "Clinic N"]
    assert found("moud") == ["Clinic B", "Clinic M", "Clinic N"]
    # detox: the category named "Withdrawal management (detox)", and text saying "withdrawal management".
    assert found("detox") == ["Sobering Unit", "Text Only"]
    assert found("narcan") == ["Outreach"]
    assert found("spanish") == ["Casa"]
    assert found("latino") == ["Casa"]
    # Every word must match (a tag or the text): the medication and the language together find nothing.
    assert found("methadone spanish") == []
    assert found("zzzz") == []


def test_medication_filter(app, session):
    make_service(session, name="B", domain="substance_use_treatment", moud_buprenorphine=True)
    make_service(
        session, name="BM", domain="substance_use_treatment", moud_buprenorphine=True, moud_methadone=True
    )
    make_service(session, name="none", domain="substance_use_treatment")
    assert sorted(names(run(app, session, medication="buprenorphine"))) == ["B", "BM"]
    assert sorted(names(run(app, session, medication="Methadone"))) == ["BM"]
    assert sorted(names(run(app, session, medication="suboxone"))) == ["B", "BM"]
    assert names(run(app, session, medication="naltrexone")) == []
    for bad in ("aspirin", "MAT", "methadone buprenorphine"):
        with pytest.raises(ValidationError) as raised:
            run(app, session, medication=bad)
        assert raised.value.field == "medication"


def _world_with_secrets(session):
    """Confidential services (two matching the filters, one not), a mixed one, and public ones nearby."""
    make_service(session, name="Zed Shelter DV", lat=CENTER[0], lon=CENTER[1], confidential=True)
    make_service(session, name="Alpha DV", lat=47.9, lon=-122.9, confidential=True)
    make_service(session, name="Food DV", domain="food", lat=CENTER[0], lon=CENTER[1], confidential=True)
    for distance in (0.5, 3.0, 8.0):
        lat, lon = at(distance)
        make_service(session, name=f"Public {distance}", lat=lat, lon=lon)


def test_confidential_services_come_after_the_located_ones_by_name(app, session):
    _world_with_secrets(session)
    page = run(app, session, category="housing", lat=str(CENTER[0]), lon=str(CENTER[1]), radius_km="5")
    assert names(page) == ["Public 0.5", "Public 3.0", "Alpha DV", "Zed Shelter DV"]
    assert page.total == 4
    assert [d is None for _, d in page.items] == [False, False, True, True]
    # Paging runs through the whole list: located first, then the confidential group.
    second = run(
        app,
        session,
        category="housing",
        lat=str(CENTER[0]),
        lon=str(CENTER[1]),
        radius_km="5",
        per_page="3",
        page="2",
    )
    assert names(second) == ["Zed Shelter DV"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lat=st.floats(min_value=46.0, max_value=49.0),
    lon=st.floats(min_value=-124.0, max_value=-120.0),
    radius=st.floats(min_value=0.1, max_value=200.0),
)
def test_moving_near_never_changes_which_confidential_services_appear(app, session, lat, lon, radius):
    if not session.scalar(select(Service.id).where(Service.name == "Alpha DV")):
        _world_with_secrets(session)
    page = run(
        app, session, category="housing", lat=str(lat), lon=str(lon), radius_km=str(radius), per_page="100"
    )
    secret = [service.name for service, _ in page.items if service.id in page.confidential]
    assert secret == ["Alpha DV", "Zed Shelter DV"]
    assert all(distance is None for service, distance in page.items if service.id in page.confidential)
