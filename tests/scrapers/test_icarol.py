"""iCarol 211 Resource exports: agencies, sites and programs, private addresses, free-text hours."""

from __future__ import annotations

from datetime import time

import pytest

from scrapers import icarol
from tests.scrapers.helpers import FIXTURES, read_rows, shared


def test_icarol_fixture():
    result = icarol.parse(FIXTURES / "icarol.csv")
    services = {s.source_id: s for s in result.services}
    locations = {loc.source_id: loc for loc in result.locations}
    assert [o.source_id for o in result.organizations] == ["100", "200"]
    night = services["site-101"]
    assert night.primary_domain == "housing"
    assert (night.schedules[0].opens_at, night.schedules[0].closes_at) == (time(9), time(17))
    assert len(night.schedules) == 5
    assert {p.type for p in night.phones} == {"voice", "fax"}
    assert [lang.code for lang in night.languages] == ["en", "es"]
    secret = locations["102"]
    assert secret.confidential and secret.address is None and secret.latitude is None
    assert len(services["site-102"].schedules) == 7
    program = services["103"]
    assert program.primary_domain == "substance_use_treatment" and program.location_ids == ("101",)
    assert program.phones == ()  # its only phone is private
    rejected = {p.record: p.problem for p in result.problems if p.action == "rejected" and not p.field}
    assert "999" in rejected["site-104"] and "999" in rejected["104"]
    assert "no LEAD IIP domain" in rejected["agency-200"]
    for kind in ("organization", "location", "service"):
        counts = result.outcome(kind)
        assert counts["read"] == counts["kept"] + counts["merged"] + counts["rejected"]


def test_icarol_real_export_every_row_accounted_for():
    path = shared("icarol_211_sf", "211_sf_only.csv")
    rows = read_rows(path)
    assert len(rows) == 2824
    levels = {}
    for row in rows:
        levels.setdefault(row["TaxonomyLevelName"], []).append(row)
    agencies = {r["ResourceAgencyNum"] for r in levels["Agency"]}
    with_children = {r["ParentAgencyNum"] for r in rows if r["TaxonomyLevelName"] != "Agency"} & agencies
    result = icarol.parse(path)
    assert result.read["organization"] == len(levels["Agency"])
    expected_services = (
        len(levels["Site"]) + len(levels.get("Program", [])) + len(levels.get("ProgramAtSite", []))
        + len(agencies - with_children)
    )  # fmt: skip
    assert result.read["service"] == expected_services
    for kind in ("organization", "location", "service"):
        counts = result.outcome(kind)
        assert counts["read"] == counts["kept"] + counts["merged"] + counts["rejected"]
    private = {r["ResourceAgencyNum"] for r in levels["Site"] if r["PhysicalAddressIsPrivate"] == "Yes"}
    for loc in result.locations:
        if loc.source_id in private:
            assert loc.confidential and loc.address is None and loc.latitude is None


RESOURCES = ("agencies", "sites", "programs", "serviceSites")


def _api_counts(files):
    """Records by type, counted with plain json."""
    import json

    counts = {}
    for file in files:
        for item in json.loads(file.read_text()):
            counts[item.get("type")] = counts.get(item.get("type"), 0) + 1
    return counts


@pytest.mark.parametrize("missing", [None, *RESOURCES])
def test_servicenet_icarol_api_json(missing):
    folder = shared("servicenet_fixtures", "icarol")
    files = [folder / (f"{name}-missing.json" if name == missing else f"{name}.json") for name in RESOURCES]
    result = icarol.parse_files(files)
    counts = _api_counts(files)
    assert result.read["organization"] == counts.get("Agency", 0)
    for kind in ("organization", "location", "service"):
        outcome = result.outcome(kind)
        assert outcome["read"] == outcome["kept"] + outcome["merged"] + outcome["rejected"]


@pytest.mark.parametrize("name", ["complete", "minimal", "invalid_fields"])
def test_servicenet_icarol_single_files(name):
    path = shared("servicenet_fixtures", "icarol", f"{name}.json")
    result = icarol.parse(path)
    counts = _api_counts([path])
    assert result.read["organization"] == counts["Agency"]
    assert result.read["location"] == counts["Site"]
    for kind in ("organization", "location", "service"):
        outcome = result.outcome(kind)
        assert outcome["read"] == outcome["kept"] + outcome["merged"] + outcome["rejected"]
