"""HSDS 3.x export of our own directory, and an import of that export reproducing the directory."""

from __future__ import annotations

import csv
import json

import pytest
from sqlalchemy import select

from directory.domain.hsds_export import export
from directory.domain.imports import run_import
from directory.extensions import db
from directory.models import Service
from scrapers import hsds
from scrapers.records import LEAD_FLAGS
from tests.conftest import FIXED_NOW

pytestmark = pytest.mark.db


def canonical(session) -> list:
    """Every active service with everything a referral depends on, as plain sortable values."""
    out = []
    for s in session.scalars(select(Service).where(Service.status == "active")):
        cap = s.capacity
        out.append(
            (
                s.name,
                s.organization.name,
                s.primary_domain,
                s.description,
                s.eligibility_description,
                s.intake_mode,
                s.intake_times,
                s.curfew,
                s.insurance,
                s.alert,
                s.fees_description,
                tuple(getattr(s, f) for f in LEAD_FLAGS),
                (s.pets_allowed, s.partners_allowed, s.wheelchair_accessible, s.lead_fundable),
                tuple(sorted(c.id for c in s.categories)),
                tuple(sorted(p.code for p in s.populations)),
                tuple(sorted(p.code for p in s.practices)),
                tuple(sorted(a.name for a in s.areas)),
                tuple(sorted((p.number, p.extension, p.type, p.description) for p in s.phones)),
                tuple(sorted((x.byday, x.opens_at, x.closes_at) for x in s.schedules)),
                tuple(sorted((x.code, x.name, x.access) for x in s.languages)),
                tuple(sorted(d.document for d in s.required_documents)),
                None
                if cap is None
                else (
                    cap.unit_id,
                    cap.maximum,
                    cap.available,
                    cap.waitlist,
                    cap.lead_funded_maximum,
                    cap.lead_funded_available,
                    cap.confirmed_at,
                ),
                tuple(sorted((_place(loc) for loc in s.locations), key=repr)),
            )
        )
    return sorted(out, key=repr)


def _place(loc) -> tuple:
    """A location as the round trip keeps it: a confidential one by its flag and neighborhood only (its
    address and point never leave the directory by default, and no importer takes them from a feed)."""
    neighborhood = loc.neighborhood.name if loc.neighborhood else None
    if loc.confidential:
        return ("confidential", neighborhood)
    where = loc.address.one_line() if loc.address else None
    return (round(loc.latitude, 6), round(loc.longitude, 6), loc.precision, False, neighborhood, where)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_then_import_reproduces_the_demo_site(demo_app, app, session, tmp_path, fmt):
    target = tmp_path / ("export" if fmt == "csv" else "export.json")
    with demo_app.app_context():
        export(db.session, target, fmt)
        expected = canonical(db.session)
        db.session.rollback()
    assert len(expected) == 300
    lazy = fmt == "csv"  # the CLI's lazy parse (services built as the writer drains them), and the eager one
    run, outcome = run_import(session, "hsds", str(target), lambda: hsds.parse(target, lazy=lazy), FIXED_NOW)
    assert run.status == "succeeded" and outcome.added["service"] == 300
    assert outcome.result.outcome("service")["rejected"] == 0
    assert canonical(session) == expected
    second, _ = run_import(session, "hsds", str(target), lambda: hsds.parse(target), FIXED_NOW)
    assert (second.added, second.changed, second.deactivated) == (0, 0, 0)


def test_export_is_hsds_shaped_with_lead_extensions_as_attributes(demo_app, tmp_path):
    with demo_app.app_context():
        export(db.session, tmp_path, "csv")
        db.session.rollback()
    package = json.loads((tmp_path / "datapackage.json").read_text())
    names = {r["name"] for r in package["resources"]}
    assert {"organizations", "services", "locations", "service_capacity", "unit", "attributes"} <= names
    with open(tmp_path / "attributes.csv", newline="") as fh:
        attributes = list(csv.DictReader(fh))
    lead = {a["taxonomy_term_id"] for a in attributes if a["taxonomy_term_id"].startswith("lead:")}
    assert {"lead:flags", "lead:capacity", "lead:primary_domain"} <= lead
    capacity = next(a["value"] for a in attributes if a["taxonomy_term_id"] == "lead:capacity")
    assert "confirmed_at=" in capacity and "waitlist=" in capacity
    with open(tmp_path / "services.csv", newline="") as fh:
        services = list(csv.DictReader(fh))
    assert len(services) == 300 and all(len(s["id"]) == 36 for s in services)


def _secret_world(session):
    """One ordinary service and one at a confidential location that (wrongly) carries an address."""
    from directory.models import Address
    from tests.factories import make_service

    open_service = make_service(session, name="Open Door Meals", domain="food", lat=47.6101, lon=-122.3421)
    secret = make_service(session, name="Safe Harbor", lat=47.6205, lon=-122.3493, confidential=True)
    secret.locations[0].address = Address(
        address_1="77 Hidden Way", city="Seattle", state_province="WA", postal_code="98109"
    )
    session.flush()
    return open_service, secret


def test_export_leaves_confidential_places_out_unless_asked_and_says_so(session, tmp_path):
    _secret_world(session)
    counts = export(session, tmp_path / "default", "csv")
    text = "".join(p.read_text() for p in (tmp_path / "default").glob("*.csv"))
    assert "77 Hidden Way" not in text and "47.6205" not in text and "-122.3493" not in text
    assert "47.6101" in text  # the ordinary location keeps its point
    assert counts["confidential locations without address or coordinates"] == 1
    with open(tmp_path / "default" / "attributes.csv", newline="") as fh:
        flagged = [a for a in csv.DictReader(fh) if a["taxonomy_term_id"] == "lead:confidential"]
    assert len(flagged) == 1  # still marked confidential, so an import knows what it is
    export(session, tmp_path / "default.json", "json")
    text = (tmp_path / "default.json").read_text()
    assert "77 Hidden Way" not in text and "47.6205" not in text
    counts = export(session, tmp_path / "staff", "csv", include_confidential=True)
    text = "".join(p.read_text() for p in (tmp_path / "staff").glob("*.csv"))
    assert "77 Hidden Way" in text and "47.6205" in text
    assert counts["confidential locations without address or coordinates"] == 0


def test_the_hsds_importer_never_takes_a_confidential_place(session, tmp_path):
    from directory.models import Location

    _secret_world(session)
    export(session, tmp_path / "staff", "csv", include_confidential=True)
    session.rollback()
    result = hsds.parse(tmp_path / "staff")
    [secret] = [loc for loc in result.locations if loc.confidential]
    assert secret.latitude is None and secret.address is None
    assert any("confidential" in p.problem for p in result.problems if p.record == secret.source_id)
    run_import(session, "hsds", str(tmp_path / "staff"), lambda: result, FIXED_NOW)
    stored = session.scalars(select(Location).where(Location.confidential.is_(True))).all()
    assert [(loc.latitude, loc.address) for loc in stored] == [(None, None)]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd", "-2+3+cmd"),  # a minus before a digit stays as written (a negative number)
        ("-x", "'-x"),
        ("'=already quoted", "''=already quoted"),
        ("+1 206-555-0100", "+1 206-555-0100"),
        ("Plain text", "Plain text"),
    ],
)
def test_cells_are_neutralized(value, written):
    from directory.domain.hsds_export import neutralize
    from scrapers.hsds import unneutralize

    assert neutralize(value) == written
    assert unneutralize(written) == value


def test_formula_cells_round_trip_and_coordinates_and_phones_stay(session, tmp_path):
    from directory.models import Phone
    from tests.factories import make_service

    service = make_service(session, name="=1+1 Shelter", description="@home -unsafe", lat=47.6, lon=-122.33)
    service.phones.append(Phone(number="206-555-0100"))
    session.flush()
    expected = canonical(session)
    export(session, tmp_path / "pkg", "csv")
    session.rollback()
    with open(tmp_path / "pkg" / "services.csv", newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert row["name"] == "'=1+1 Shelter" and row["description"] == "'@home -unsafe"
    with open(tmp_path / "pkg" / "locations.csv", newline="") as fh:
        [location] = list(csv.DictReader(fh))
    assert (float(location["latitude"]), float(location["longitude"])) == (47.6, -122.33)
    # The rollback emptied the directory: importing the package brings names, phones and points back.
    assert session.scalars(select(Service)).all() == []
    run_import(session, "hsds", str(tmp_path / "pkg"), lambda: hsds.parse(tmp_path / "pkg"), FIXED_NOW)
    assert canonical(session) == expected
