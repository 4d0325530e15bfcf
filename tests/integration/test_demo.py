"""The demo site: deterministic, every IIP domain and capacity state, and it answers the README search."""

import math
from collections import Counter

from sqlalchemy import func, select

from directory import demo
from directory.domain import capacity as cap
from directory.models import Address, Location, Service, SitePlace, TaxonomyTerm, User
from tests.conftest import FIXED_NOW


def test_every_domain_and_every_state(demo_app):
    from directory.extensions import db

    with demo_app.app_context():
        services = db.session.scalars(select(Service)).all()
        assert len(services) == 300
        domains = {s.primary_domain for s in services}
        all_domains = set(db.session.scalars(select(TaxonomyTerm.id).where(TaxonomyTerm.parent_id.is_(None))))
        assert domains == all_domains
        windows = demo_app.config["SITE"].freshness_hours
        states = Counter(
            cap.classify(
                cap.Numbers.of(s.capacity) if s.capacity else None, s.coordinated_entry, FIXED_NOW, windows
            )
            for s in services
        )
        assert set(states) == set(cap.CLASSIFICATIONS)
        assert all(count >= 1 for count in states.values())
        rows = [s.capacity for s in services if s.capacity is not None]
        assert any(r.waitlist is None and r.confirmed_at is not None for r in rows)  # unknown waitlist
        assert any(r.confirmed_at is None for r in rows)  # never confirmed
        assert any(r.lead_funded_maximum > 0 for r in rows)
        assert all(r.lead_funded_maximum == 0 for r in rows if not r.service_lead_fundable)
        assert any(s.coordinated_entry and s.capacity and s.capacity.lead_funded_maximum for s in services)
        assert any(
            s.coordinated_entry and s.capacity and not s.capacity.lead_funded_maximum for s in services
        )


def test_confidential_shelter_has_no_address(demo_app):
    from directory.extensions import db

    with demo_app.app_context():
        confidential = db.session.scalars(select(Location).where(Location.confidential.is_(True))).all()
        assert len(confidential) >= 1
        ids = [loc.id for loc in confidential]
        assert (
            db.session.scalar(select(func.count()).select_from(Address).where(Address.location_id.in_(ids)))
            == 0
        )


def test_places_are_real_neighborhoods_and_never_hot_spots(demo_app):
    from directory.extensions import db

    with demo_app.app_context():
        used = set(
            db.session.scalars(select(Location.neighborhood_id).where(Location.neighborhood_id.is_not(None)))
        )
        internal = set(db.session.scalars(select(SitePlace.id).where(SitePlace.internal.is_(True))))
        assert used and not used & internal
        for lat, lon in db.session.execute(select(Location.latitude, Location.longitude)):
            assert 47.1 < lat < 47.9 and -122.6 < lon < -121.8


def test_demo_users_for_every_role(demo_app):
    from directory.extensions import db

    with demo_app.app_context():
        roles = set(db.session.scalars(select(User.role).where(User.is_demo.is_(True))))
        assert roles == {"case_manager", "peer_outreach", "provider", "project_manager", "admin"}


def test_the_readme_search_finds_spanish_housing_first_spare_beds_near_98104(demo_client):
    url = "/api/v1/services?category=housing&housing_first=true&availability=spare&near=98104&language=es"
    body = demo_client.get(url).get_json()
    assert body["total"] >= 2
    for item in body["items"]:
        assert item["attributes"]["housing_first"] is True
        assert item["capacity"]["status"] == "spare_capacity"
        assert "es" in [lang["code"] for lang in item["languages"]]
        if item["distance_km"] is None:
            # The confidential group follows the located results whatever the location (issue 20).
            assert item["attributes"]["confidential"] is True
        else:
            assert item["distance_km"] <= 10
    page = demo_client.get(
        "/search?category=housing&housing_first=true&availability=spare&near=98104&language=es"
    )
    assert page.status_code == 200
    assert body["items"][0]["name"] in page.get_data(as_text=True).replace("&#39;", "'")


def test_seeding_is_deterministic(app, session, tmp_path):
    from directory.extensions import db

    site = app.config["SITE"]

    def fingerprint():
        rows = db.session.execute(
            select(Service.name, Location.latitude, Location.longitude)
            .join(Service.locations)
            .order_by(Service.id)
        ).all()
        return [(name, round(lat, 6), round(lon, 6)) for name, lat, lon in rows]

    demo.seed(db.session, site, services=60, seed=3, now=FIXED_NOW)
    first = fingerprint()
    db.session.rollback()
    demo.seed(db.session, site, services=60, seed=3, now=FIXED_NOW)
    assert fingerprint() == first
    assert all(math.isfinite(lat) for _, lat, _ in first)


def test_scale_mode_spreads_services_over_us_zip_centroids(app, session):
    from directory.extensions import db

    summary = demo.seed(db.session, app.config["SITE"], services=1200, seed=5, now=FIXED_NOW)
    assert summary.services == 1200 and summary.logins == []
    lats = [lat for (lat,) in db.session.execute(select(Location.latitude))]
    assert len(lats) == 1200
    assert min(lats) < 40 < 45 < max(lats)  # spread nationally, not around Seattle
    found = db.session.scalar(
        select(func.count())
        .select_from(Service)
        .where(Service.id.in_(select(Service.id).where(Service.name != "")))
    )
    assert found == 1200
