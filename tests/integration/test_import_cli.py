"""The scrape and geocode commands of contract.md: list, run (with --dry-run), export; exit codes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory.models import ImportRun, Service
from tests.factories import sign_in
from tests.scrapers.helpers import FIXTURES

pytestmark = pytest.mark.db


def test_scrape_list_names_every_importer(runner):
    result = runner.invoke(args=["scrape", "list"])
    assert result.exit_code == 0
    for name in ("hsds", "icarol", "hud-inventory", "samhsa", "csv", "json", "html"):
        assert name in result.output


def test_dry_run_prints_what_would_happen_and_writes_nothing(runner, session):
    result = runner.invoke(
        args=["scrape", "run", "hud-inventory", str(FIXTURES / "hud_sites.csv"), "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "dry run: nothing written" in result.output
    assert "12 homeless men" in result.output
    assert session.scalar(select(func.count()).select_from(Service)) == 0
    assert session.scalar(select(ImportRun.dry_run)) is True


def test_run_then_run_again(runner, session):
    path = str(FIXTURES / "hsds1")
    first = runner.invoke(args=["scrape", "run", "hsds", path])
    assert first.exit_code == 0, first.output
    assert session.scalar(select(func.count()).select_from(Service)) == 2
    second = runner.invoke(args=["scrape", "run", "hsds", path, "--as", "tiny211"])
    assert second.exit_code == 0
    assert (
        session.scalar(select(func.count()).select_from(Service)) == 4
    )  # another feed name, its own records


def test_an_unreadable_source_exits_1(runner, tmp_path):
    result = runner.invoke(args=["scrape", "run", "hsds", str(tmp_path / "missing")])
    assert result.exit_code == 1
    assert "does not exist" in result.output


def test_bad_usage_exits_2(runner):
    assert runner.invoke(args=["scrape", "run", "nonsense", "x"]).exit_code == 2


def test_export_command(runner, tmp_path):
    runner.invoke(args=["scrape", "run", "hsds", str(FIXTURES / "hsds1")])
    result = runner.invoke(args=["scrape", "export", str(tmp_path / "out")])
    assert result.exit_code == 0 and (tmp_path / "out" / "datapackage.json").exists()


def test_import_runs_and_a_failure_show_on_the_audit_dashboard(app, runner, session, tmp_path):
    from tests.factories import make_user

    good = runner.invoke(args=["scrape", "run", "hud-inventory", str(FIXTURES / "hud_sites.csv")])
    assert good.exit_code == 0, good.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "datapackage.json").write_text("{ this is not json")
    bad = runner.invoke(args=["scrape", "run", "hsds", str(broken)])
    assert bad.exit_code != 0
    statuses = dict(session.execute(select(ImportRun.source, ImportRun.status)).all())
    assert statuses == {"hud-inventory": "succeeded", "hsds": "failed"}
    manager = make_user(session, "project_manager")
    session.commit()
    client = app.test_client()
    sign_in(client, manager.id)
    page = client.get("/pm").get_data(as_text=True)
    assert 'id="import-failed"' in page and "the last run of hsds failed" in page
    table = page.split('id="table-imports"')[1].split("</table>")[0]
    assert "hud-inventory" in table and "succeeded" in table and "failed" in table


def test_domain_places_what_nothing_else_places(runner, session):
    path = str(FIXTURES / "hsds1")
    without = runner.invoke(args=["scrape", "run", "hsds", path, "--dry-run"])
    assert without.exit_code == 0, without.output
    result = runner.invoke(args=["scrape", "run", "hsds", path, "--domain", "education"])
    assert result.exit_code == 0, result.output
    domains = dict(session.execute(select(Service.source_id, Service.primary_domain)).all())
    # s3 ("Arts and Crafts": no taxonomy or word fits) takes the default; s1 and s2 keep their own.
    assert domains == {"s1": "housing", "s2": "food", "s3": "education"}
    bad = runner.invoke(args=["scrape", "run", "hsds", path, "--domain", "housingg"])
    assert bad.exit_code == 1 and "did you mean 'housing'" in bad.output
    other = runner.invoke(args=["scrape", "run", "samhsa", str(FIXTURES / "samhsa.csv"), "--domain", "food"])
    assert other.exit_code == 1 and "--domain is for the hsds importer" in other.output


def test_swap_coordinates_no_refuses_a_swapped_file_and_writes_nothing(runner, session, tmp_path):
    path = tmp_path / "samhsa.csv"
    path.write_text(
        "name1,name2,street1,street2,city,state,zip,zip4,county,latitude,longitude\n"
        "Clinic A,,1 Main St,,Seattle,WA,98101,,King,-122.33,47.61\n"
        "Clinic B,,2 Main St,,Portland,OR,97201,,Multnomah,-122.68,45.52\n",
        encoding="utf-8",
    )
    refused = runner.invoke(args=["scrape", "run", "samhsa", str(path), "--swap-coordinates", "no"])
    assert refused.exit_code == 1
    assert "swapped in the whole file (2 of 2" in refused.output
    assert "--swap-coordinates auto" in refused.output
    assert session.scalar(select(func.count()).select_from(Service)) == 0
    repaired = runner.invoke(args=["scrape", "run", "samhsa", str(path)])
    assert repaired.exit_code == 0, repaired.output
    assert session.scalar(select(func.count()).select_from(Service)) == 2
    assert (
        runner.invoke(args=["scrape", "run", "samhsa", str(path), "--swap-coordinates", "x"]).exit_code == 2
    )
