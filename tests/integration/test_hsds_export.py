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
                tuple(sorted((x.code, x.name) for x in s.languages)),
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
                tuple(
                    sorted(
                        (
                            round(loc.latitude, 6),
                            round(loc.longitude, 6),
                            loc.precision,
                            loc.confidential,
                            loc.neighborhood.name if loc.neighborhood else None,
                            loc.address.one_line() if loc.address else None,
                        )
                        for loc in s.locations
                    )
                ),
            )
        )
    return sorted(out, key=repr)


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
