"""Honest accounting: per kind of record, read = added + changed + unchanged + merged + rejected, for every
importer, on a first run, a re-run, and a dry run; a record without a place is rejected unless the mapping
allows "no location"; a dropped value is counted apart from a repair."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from directory.domain.imports import run_import
from directory.models import ImportRun, Location, Service
from scrapers import generic_csv
from scrapers.registry import parse_source
from tests.conftest import FIXED_NOW

pytestmark = pytest.mark.db

FIXTURES = Path(__file__).parents[1] / "scrapers" / "fixtures"
DATA = Path(__file__).parents[2].parent / "shared" / "data"
SOURCES = [
    ("hsds", FIXTURES / "hsds1", None),
    ("icarol", FIXTURES / "icarol.csv", None),
    ("hud-inventory", FIXTURES / "hud_sites.csv", None),
    ("samhsa", FIXTURES / "samhsa.csv", None),
    ("csv", FIXTURES / "spreadsheet.csv", FIXTURES / "spreadsheet.yaml"),
]
BALANCE = ("added", "changed", "unchanged", "merged", "rejected")


def _run(session, source, path, mapping, dry_run=False):
    return run_import(
        session, source, str(path), lambda: parse_source(source, str(path), mapping and str(mapping)),
        FIXED_NOW, dry_run,
    )  # fmt: skip


def _balanced(accounts: dict) -> None:
    for kind, row in accounts.items():
        assert row["read"] == sum(row[name] for name in BALANCE), (kind, row)
        assert row["unaccounted"] == 0, (kind, row)


@pytest.mark.parametrize(("source", "path", "mapping"), SOURCES, ids=[s[0] for s in SOURCES])
def test_every_importer_accounts_for_every_record_read(session, source, path, mapping):
    _, dry = _run(session, source, path, mapping, dry_run=True)
    run, first = _run(session, source, path, mapping)
    assert dry.accounts() == first.accounts()  # a dry run says what the real run does
    _balanced(first.accounts())
    stored = json.loads(session.get(ImportRun, run.id).counts)
    assert {k: stored[k] for k in first.accounts()} == first.accounts()
    assert first.accounts()["service"]["added"] > 0
    _, second = _run(session, source, path, mapping)
    _balanced(second.accounts())
    again = second.accounts()["service"]
    assert (
        again["added"] == again["changed"] == 0 and again["unchanged"] == first.accounts()["service"]["added"]
    )


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is absent (a fresh clone has no real files)")
@pytest.mark.parametrize("folder", ["hsds3_spec_examples/csv", "hsds3_spec_examples/service_full.json"])
def test_real_hsds_shaped_files_balance_too(session, folder):
    path = DATA / folder
    _, outcome = _run(session, "hsds", path, None)
    _balanced(outcome.accounts())


CSV = "Program,Street,City,State,ZIP,Phone,Lat,Lon\n" + "".join(
    [
        "Placed,100 Main St,Seattle,WA,98104,206-555-0100,,\n",
        "Nowhere,,,,,206-555-0101,,\n",
        "Bad Phone,1 Pine St,Seattle,WA,98101,12,,\n",
        "Bad Point,2 Pine St,Seattle,WA,98101,,95.5,-122.3\n",
    ]
)
COLUMNS = {"name": "Program", "address_1": "Street", "city": "City", "state": "State", "zip": "ZIP"}
COLUMNS |= {"phone": "Phone", "latitude": "Lat", "longitude": "Lon"}


@pytest.mark.parametrize("allowed", [False, True])
def test_a_service_without_a_place_is_rejected_unless_the_mapping_allows_it(session, tmp_path, allowed):
    path = tmp_path / "sites.csv"
    path.write_text(CSV, encoding="utf-8")
    mapping = {"columns": COLUMNS, "domain": "food", "no_location": allowed}
    run, outcome = run_import(session, "csv", str(path), lambda: generic_csv.parse(path, mapping), FIXED_NOW)
    services = outcome.accounts()["service"]
    _balanced(outcome.accounts())
    assert services["read"] == 4
    assert (services["added"], services["rejected"]) == ((4, 0) if allowed else (3, 1))
    names = set(session.scalars(select(Service.name)))
    assert ("Nowhere" in names) is allowed
    # A phone that is not one and a point off the Earth are values dropped, not repairs; the records stay.
    assert services["dropped"] == 2 and {"Bad Phone", "Bad Point"} <= names
    assert json.loads(session.get(ImportRun, run.id).counts)["no_location"] is allowed
    # Every location written belongs to a service that was written.
    orphans = session.scalar(select(func.count()).select_from(Location).where(~Location.services.any()))
    assert orphans == 0


def test_the_cli_summary_balances_and_says_how_places_were_handled(app, tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(CSV, encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"columns": COLUMNS, "domain": "food"}), encoding="utf-8")
    out = app.test_cli_runner().invoke(args=["scrape", "run", "csv", str(path), "--mapping", str(mapping)])
    assert out.exit_code == 0, out.output
    assert "services without a place: rejected" in out.output
    assert "flask scrape problems" in out.output
    assert "not accounted for" not in out.output
    shutil.rmtree(tmp_path)


def test_organizations_and_locations_no_kept_service_uses_are_not_left_behind(session):
    from tests.scrapers.helpers import small_result

    def parse():
        result = small_result(3)
        result.services[1].primary_domain = "mental_helth"  # a misspelt domain: the writer rejects it
        return result

    run, outcome = run_import(session, "test", "memory", parse, FIXED_NOW)
    accounts = outcome.accounts()
    _balanced(accounts)
    assert (accounts["service"]["added"], accounts["service"]["rejected"]) == (2, 1)
    assert (accounts["location"]["added"], accounts["location"]["rejected"]) == (2, 1)
    assert session.scalar(select(func.count()).select_from(Location)) == 2
    orphans = session.scalar(select(func.count()).select_from(Location).where(~Location.services.any()))
    assert orphans == 0

    def parse_all_bad():
        result = small_result(2)
        for service in result.services:
            service.primary_domain = "mental_helth"
        return result

    with pytest.raises(Exception, match="every one of the 2 service record"):
        run_import(session, "other", "memory", parse_all_bad, FIXED_NOW)
