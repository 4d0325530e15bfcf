"""HUD housing inventory and SAMHSA facility lists: hand-written fixtures with every kind of mess, and the
real national files (counts computed here with plain csv)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory.domain.imports import run_import
from directory.models import Location, Service, ServiceCapacity
from scrapers import hud, samhsa
from scrapers.flat import key
from tests.conftest import FIXED_NOW
from tests.scrapers.helpers import FIXTURES, read_rows, shared


def rejected(result):
    return {p.record: p.problem for p in result.problems if p.action == "rejected" and not p.field}


def notes(result, record):
    return " | ".join(p.problem for p in result.problems if p.record == record)


def test_hud_fixture():
    result = hud.parse(FIXTURES / "hud_sites.csv")
    services = {s.source_id: s for s in result.services}
    locations = {loc.source_id: loc for loc in result.locations}
    assert result.read["service"] == 8
    assert "12 homeless men" in rejected(result)["h7"]
    assert "no usable address" in rejected(result)["h8"]
    assert services["h1"].name == "Shelter and housing site, Seattle, WA"
    cap = services["h2"].capacity
    assert (cap.unit, cap.maximum, cap.available, cap.waitlist) == ("bed", 20, None, None)
    assert "above the bed count" in notes(result, "h2")
    assert locations["h2"].address.postal_code == "06108"
    assert locations["h3"].address is None and locations["h3"].precision == "approximate"
    assert locations["h3"].latitude == 47.61
    assert locations["h4"].precision == "zip"
    assert locations["h5"].latitude is None and "swapped" in notes(result, "h5")
    # Web Mercator metres (x -13,630,000, y 6,000,000) are converted: a point near Tacoma, not dropped.
    assert abs(locations["h6"].latitude - 47.354) < 0.001 and abs(locations["h6"].longitude + 122.440) < 0.001
    assert "Web Mercator" in notes(result, "h6")
    assert locations["h5"].address.address_1 == "1 Main St"  # still findable by its address


def test_samhsa_fixture_with_duplicates_and_windows_1252():
    result = samhsa.parse(FIXTURES / "samhsa.csv")
    assert result.read["service"] == 3
    assert len(result.services) == 2
    assert [p.action for p in result.problems if "same name and address" in p.problem] == ["merged"]
    assert result.outcome("service")["merged"] == 1
    names = sorted(s.name for s in result.services)
    assert names == ["Harbor Café Clinic", "New Dawn Recovery Center"]
    assert all(s.primary_domain == "substance_use_treatment" for s in result.services)


def _number(value):
    try:
        return float(value)
    except ValueError:
        return None


def test_hud_real_file_every_site_accounted_for():
    path = shared("hud_coc_2018", "coc_sites_2018_public.csv")
    rows = read_rows(path)
    result = hud.parse(path)
    assert result.read["service"] == len(rows) == 23704
    counts = result.outcome("service")
    assert counts["read"] == counts["kept"] + counts["merged"] + counts["rejected"]
    over = {
        r["ID"]
        for r in rows
        if _number(r["pit_count"]) is not None
        and _number(r["total_beds"]) is not None
        and _number(r["pit_count"]) > _number(r["total_beds"])
    }
    noted = {p.record for p in result.problems if "above the bed count" in p.problem}
    assert noted == over - set(rejected(result))
    capacities = {s.source_id: s.capacity for s in result.services}
    for r in rows:
        if r["ID"] in capacities:
            assert capacities[r["ID"]].maximum == int(float(r["total_beds"]))
            assert capacities[r["ID"]].available is None
    blank = {r["ID"] for r in rows if not r["ADDRESS"].strip()}
    for loc in result.locations:
        if loc.source_id in blank:
            assert loc.address is None and loc.precision in ("approximate", "zip")
    short_zips = {r["ID"] for r in rows if 3 <= len(r["zip"].strip()) < 5}
    repaired = {p.record for p in result.problems if p.field == "postal_code" and "leading zero" in p.problem}
    # A short ZIP is either given its zero back or, once padded, found to belong to another state (dropped).
    other_state = {
        p.record for p in result.problems if p.field == "postal_code" and "belongs to" in p.problem
    }
    assert (repaired | (short_zips & other_state)) - set(rejected(result)) == short_zips - set(
        rejected(result)
    )
    # Kansas City sites counted by the Missouri CoC: a Kansas ZIP (661xx) on a MO row is never kept.
    states = {r["ID"]: r["STATE"].strip() for r in rows}
    for loc in result.locations:
        address = loc.address
        if address and address.postal_code and address.postal_code.startswith("661"):
            assert states[loc.source_id] == "KS"


def test_samhsa_real_file_every_facility_accounted_for():
    path = shared("samhsa_treatment_2018", "SAMHSA_Nationwide_Substance_Use_Treatment_Data.csv")
    rows = read_rows(path, encoding="cp1252")
    result = samhsa.parse(path)
    assert result.read["service"] == len(rows) == 14034
    keys = [
        key(r["name1"], r["name2"], r["street1"], r["street2"], r["city"], r["state"], r["zip"]) for r in rows
    ]
    duplicates = len(keys) - len(set(keys))
    assert result.outcome("service")["merged"] == duplicates == 7  # the same facility twice: merged
    counts = result.outcome("service")
    assert counts["read"] == counts["kept"] + counts["merged"] + counts["rejected"]


@pytest.mark.db
def test_hud_fixture_import_is_idempotent_and_unverified(session):
    path = FIXTURES / "hud_sites.csv"
    first, outcome = run_import(session, "hud-inventory", str(path), lambda: hud.parse(path), FIXED_NOW)
    assert first.added == 1 + 1 + 6 + 6  # WA and CT organizations, six sites placed
    assert (
        session.scalar(
            select(func.count()).select_from(ServiceCapacity).where(ServiceCapacity.confirmed_at.is_(None))
        )
        == 6
    )
    hidden = session.scalar(select(Location).where(Location.source_id == "h3"))
    assert hidden.address is None and hidden.precision == "approximate"
    second, _ = run_import(session, "hud-inventory", str(path), lambda: hud.parse(path), FIXED_NOW)
    assert (second.added, second.changed) == (0, 0)
    assert session.scalar(select(func.count()).select_from(Service)) == 6


REAL_FILES = {
    "hud-inventory": ("hud_coc_2018", "coc_sites_2018_public.csv"),
    "samhsa": ("samhsa_treatment_2018", "SAMHSA_Nationwide_Substance_Use_Treatment_Data.csv"),
    "icarol": ("icarol_211_sf", "211_sf_only.csv"),
}


@pytest.mark.db
@pytest.mark.parametrize("source", sorted(REAL_FILES))
def test_real_file_imports_and_a_second_run_changes_nothing(session, source):
    from scrapers.registry import parse_source

    path = str(shared(*REAL_FILES[source]))
    first, outcome = run_import(session, source, path, lambda: parse_source(source, path), FIXED_NOW)
    kept = len(outcome.result.service_ids())
    assert first.status == "succeeded"
    assert session.scalar(select(func.count()).select_from(Service)) == kept
    counts = outcome.result.outcome("service")
    assert counts["read"] == counts["kept"] + counts["merged"] + counts["rejected"]
    second, _ = run_import(session, source, path, lambda: parse_source(source, path), FIXED_NOW)
    assert (second.added, second.changed, second.deactivated) == (0, 0, 0)
