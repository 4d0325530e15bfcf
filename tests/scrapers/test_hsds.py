"""HSDS parsing: the hand-written 1.x datapackage with its mess, nested 3.x JSON, and the real files."""

from __future__ import annotations

import csv
import json
from datetime import time

import pytest
from sqlalchemy import func, select

from directory.domain.imports import run_import
from directory.models import Location, Service
from scrapers import hsds
from tests.conftest import FIXED_NOW
from tests.scrapers.helpers import FIXTURES, read_rows, shared


def accounted(result, kind):
    counts = result.outcome(kind)
    assert counts["read"] == counts["kept"] + counts["merged"] + counts["rejected"], (kind, counts)
    return counts


def problems(result, record, field=None):
    return [p.problem for p in result.problems if p.record == record and (field is None or p.field == field)]


def test_hand_written_hsds1_datapackage_repairs_and_rejects_with_reasons():
    result = hsds.parse(FIXTURES / "hsds1")
    for kind in ("organization", "location", "service"):
        accounted(result, kind)
    services = {s.source_id: s for s in result.services}
    assert set(services) == {"s1", "s2"}
    rejected = {p.record: p.problem for p in result.problems if p.action == "rejected" and not p.field}
    assert "no LEAD IIP domain" in rejected["s3"]
    assert "organization o9" in rejected["s4"]
    assert "without a name" in rejected["s5"]
    assert "without a name" in rejected["o3"]
    shelter = services["s1"]
    assert (shelter.primary_domain, shelter.terms) == ("housing", ("housing.emergency_shelter",))
    assert shelter.description == "Beds for adults."  # literal \n and ###TUE### cleaned
    assert shelter.schedules[0].opens_at == time(21) and shelter.schedules[0].closes_at == time(13)
    assert any("past midnight" in p for p in problems(result, "s1", "schedules"))
    assert [lang.code for lang in shelter.languages] == ["en", "es"]
    assert shelter.phones[0].number == "206-555-0100"
    pantry = services["s2"]
    assert pantry.phones == ()
    assert any("((21)) 2-3514" in p for p in problems(result, "s2", "phones"))
    assert pantry.email is None
    locations = {loc.source_id: loc for loc in result.locations}
    assert locations["l2"].address.postal_code == "06108"
    assert locations["l1"].address.state_province == "WA"
    assert locations["l3"].latitude is None and "swapped" in problems(result, "l3", "coordinates")[0]
    assert "projected" in problems(result, "l4", "coordinates")[0]
    assert locations["l4"].precision == "zip" and locations["l4"].latitude == pytest.approx(47.61, abs=0.05)
    org = next(o for o in result.organizations if o.source_id == "o1")
    assert org.website == "http://harbor.example.org"


def test_nested_hsds3_json_with_capacity_and_units(tmp_path):
    document = {
        "id": "svc-a",
        "name": "Overnight Beds",
        "description": "Emergency shelter for adults",
        "organization": {"id": "org-a", "name": "Harbor Light Shelter Society"},
        "capacities": [
            {
                "id": "cap-a",
                "unit": {"id": "beds", "name": "Bed"},
                "maximum": 20,
                "available": 3,
                "updated": "2026-11-20T08:00:00Z",
            }
        ],
        "schedules": [{"freq": "WEEKLY", "byday": "MO,TU", "opens_at": "19:00", "closes_at": "07:00"}],
        "service_at_locations": [
            {
                "id": "sal-a",
                "location": {
                    "id": "loc-a",
                    "latitude": 47.6,
                    "longitude": -122.33,
                    "addresses": [
                        {
                            "address_1": "1 Main St",
                            "city": "Seattle",
                            "state_province": "WA",
                            "postal_code": "98104",
                            "address_type": "physical",
                        }
                    ],
                },
            }
        ],
    }
    path = tmp_path / "services.json"
    path.write_text(json.dumps({"contents": [document], "total_items": 1}))
    result = hsds.parse(path)
    service = result.services[0]
    assert service.primary_domain == "housing"
    assert (service.capacity.unit, service.capacity.maximum, service.capacity.available) == ("bed", 20, 3)
    assert service.capacity.waitlist is None and service.capacity.confirmed_at is None
    assert [s.byday for s in service.schedules] == ["MO", "TU"]
    assert result.locations[0].address.city == "Seattle"


def test_line_per_record_json_with_trailing_commas(tmp_path):
    lines = [
        json.dumps(
            {"id": f"s{i}", "name": f"Food pantry {i}", "organization": {"id": "o", "name": "Pantry Co"}}
        )
        + ","
        for i in range(3)
    ]
    path = tmp_path / "lines.json"
    path.write_text("\n".join(lines) + "\n")
    result = hsds.parse(path)
    assert [s.source_id for s in result.services] == ["s0", "s1", "s2"]


def test_windows_1252_and_old_mac_line_endings(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "organizations.csv").write_bytes("id,name\ro1,Caf\xe9 Esperanza\r".encode("cp1252"))
    (folder / "services.csv").write_bytes(
        b"id,organization_id,name,description\rs1,o1,Hot meals,Free meals daily\r"
    )
    result = hsds.parse(folder)
    assert result.organizations[0].name == "Café Esperanza"
    assert result.services[0].primary_domain == "food"
    notes = [p.problem for p in result.problems if p.kind == "file"]
    assert any("Windows-1252" in n for n in notes) and any("\\r line endings" in n for n in notes)


# -- the real files ------------------------------------------------------------------------------------------


def test_miami_211_every_record_accounted_for():
    folder = shared("hsds1_211miami")
    data = folder / "data"
    orgs = read_rows(data / "organizations.csv")
    services = read_rows(data / "services.csv")
    locations = read_rows(data / "locations.csv")
    eligibility = read_rows(data / "eligibility.csv")
    result = hsds.parse(folder)
    assert accounted(result, "organization")["read"] == len(orgs) == 1074
    assert accounted(result, "service")["read"] == len(services) == 4089
    assert accounted(result, "location")["read"] == len(locations) == 4089
    org_ids = {o["id"] for o in orgs}
    orphans = {s["id"] for s in services if s["organization_id"] not in org_ids}
    rejected_orphans = {
        p.record
        for p in result.problems
        if p.action == "rejected" and not p.field and "organization" in p.problem
    }
    assert rejected_orphans == orphans
    with_coords = {loc["id"] for loc in locations if loc["latitude"].strip() and loc["longitude"].strip()}
    assert len(with_coords) == 2260
    placed = {
        loc.source_id for loc in result.locations if loc.latitude is not None and loc.precision != "zip"
    }
    refused = {p.record for p in result.problems if p.field == "coordinates"}
    assert placed | refused == with_coords and not placed & refused
    unlinked = sum(1 for e in eligibility if not e["service_id"].strip())
    assert sum(1 for p in result.problems if p.kind == "eligibility") == unlinked
    imported = {s.source_id for s in result.services}
    rejected = {
        p.record for p in result.problems if p.kind == "service" and p.action == "rejected" and not p.field
    }
    assert imported | rejected == {s["id"] for s in services} and not imported & rejected


@pytest.mark.db
def test_miami_211_imports_and_a_second_run_changes_nothing(session):
    folder = shared("hsds1_211miami")
    first, outcome = run_import(session, "miami", str(folder), lambda: hsds.parse(folder), FIXED_NOW)
    imported = len(outcome.result.services)
    assert first.status == "succeeded"
    assert session.scalar(select(func.count()).select_from(Service)) == imported
    # A location without coordinates is never given a guessed point.
    assert session.scalar(select(func.count()).select_from(Location).where(Location.latitude.is_(None))) > 0
    second, _ = run_import(session, "miami", str(folder), lambda: hsds.parse(folder), FIXED_NOW)
    assert (second.added, second.changed, second.deactivated) == (0, 0, 0)


def test_hsds3_specification_examples():
    folder = shared("hsds3_spec_examples")
    with open(folder / "csv" / "services.csv", newline="") as fh:
        expected_services = len(list(csv.DictReader(fh)))
    result = hsds.parse(folder / "csv")
    assert accounted(result, "service")["read"] == expected_services
    for name in (
        "service_full.json",
        "organization_full.json",
        "service_at_location_full.json",
        "service_list.json",
    ):
        result = hsds.parse(folder / name)
        for kind in ("organization", "location", "service"):
            accounted(result, kind)
        # The examples' coordinates (100, 101) are not degrees of a US place: refused, never imported.
        assert all(loc.latitude is None for loc in result.locations)


SERVICENET_TABLES = [
    *(f"healthleads/{v}" for v in ("complete", "minimal", "invalid_fields", "bad_matches", "conflicting/1")),
    *(f"smcconnect/{v}" for v in ("complete", "minimal", "invalid_fields", "bad_matches")),
]


@pytest.mark.parametrize("variant", SERVICENET_TABLES)
def test_servicenet_table_fixtures(variant):
    """ServiceNet's Health Leads (HSDS 1.x-like) and SMC Connect (Ohana) tables, in JSON and CSV."""
    folder = shared("servicenet_fixtures", *variant.split("/"))
    result = hsds.parse(folder)
    for kind in ("organization", "location", "service"):
        accounted(result, kind)
    rows = sorted(folder.glob("services.*"))
    source = rows[0]
    expected = len(json.loads(source.read_text())) if source.suffix == ".json" else len(read_rows(source))
    assert result.read["service"] == expected


DIGESTS = """
import sys
from scrapers import hsds
from directory.domain.imports import digest
result = hsds.parse(sys.argv[1])
print(sorted(digest(r) for r in result.records))
"""


def test_digests_are_the_same_in_every_process(tmp_path):
    """A second run in a new process (another hash seed) must see an unchanged source as unchanged."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    flags = "accepts_active_use,no_id_required,accepts_sex_workers,trauma_informed,criminal_record_ok"
    document = {
        "id": "s1",
        "name": "Harbor Night Shelter",
        "organization": {"id": "o1", "name": "Harbor Light Shelter Society"},
        "attributes": [
            {"link_entity": "service", "value": flags, "taxonomy_term": {"id": "lead:flags"}},
            {"link_entity": "service", "value": "housing", "taxonomy_term": {"id": "lead:primary_domain"}},
        ],
    }
    path = tmp_path / "one.json"
    path.write_text(json.dumps([document]))
    root = Path(__file__).resolve().parents[2]
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        command = [sys.executable, "-c", DIGESTS, str(path)]
        run = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=True)
        outputs.add(run.stdout)
    assert len(outputs) == 1


def test_hsds3_service_taxonomy_term_id_is_read(tmp_path):
    """The HSDS 3 link column `taxonomy_term_id` places a service as the 1.x `taxonomy_id` does: s3, whose
    words fit no domain, is placed by its link alone once the link names a shelter term."""
    import shutil

    folder = tmp_path / "hsds3_links"
    shutil.copytree(FIXTURES / "hsds1", folder)
    links = folder / "services_taxonomy.csv"
    text = (
        links.read_text()
        .replace("taxonomy_id", "taxonomy_term_id")
        .replace("3,s3,PS-9800", "3,s3,BH-1800.8500")
    )
    links.write_text(text)
    package = folder / "datapackage.json"
    package.write_text(package.read_text().replace('"taxonomy_id"', '"taxonomy_term_id"'))
    assert "3,s3,BH-1800.8500" in links.read_text()
    services = {s.source_id: s for s in hsds.parse(folder).services}
    assert services["s3"].primary_domain == "housing"
    assert services["s3"].terms == ("housing.emergency_shelter",)
