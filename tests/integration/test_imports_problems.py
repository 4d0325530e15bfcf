"""Problems you can read: `flask scrape problems RUN [--csv]` and the page under the audit dashboard list
each problem's record, file and line or JSON path, field and action; only auditors see them."""

from __future__ import annotations

import csv
import io
import json

import pytest

from directory.extensions import db
from directory.models import ImportRun, Organization
from tests.conftest import FIXED_NOW
from tests.factories import make_user
from tests.web.test_case_manager_pages import login

pytestmark = pytest.mark.db

CSV = (
    "Program,Street,City,State,ZIP,Phone,Hours\n"
    "Pantry,100 Main St,Seattle,WA,98104,206-555-0100,Mon-Fri 9am-5pm\n"
    '=HYPERLINK("x") <script>,,,,,,\n'
    "Clinic,1 Pine St,Seattle,WA,98101,12,By appointment only\n"
)
MAPPING = {
    "columns": {"name": "Program", "address_1": "Street", "city": "City", "state": "State", "zip": "ZIP"}
    | {"phone": "Phone", "hours": "Hours"},
    "domain": "food",
}


@pytest.fixture
def run_id(app, tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(CSV, encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING), encoding="utf-8")
    out = app.test_cli_runner().invoke(args=["scrape", "run", "csv", str(path), "--mapping", str(mapping)])
    assert out.exit_code == 0, out.output
    with app.app_context():
        return db.session.query(ImportRun.id).scalar()


def test_the_cli_lists_each_problem_with_its_place(app, run_id):
    out = app.test_cli_runner().invoke(args=["scrape", "problems", str(run_id), "--csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    by_record = {(r["field"], r["action"]): r for r in rows}
    rejected = by_record[("", "rejected")]
    assert (rejected["file"], rejected["place"]) == ("sites.csv", "3")
    assert "no usable address" in rejected["problem"]
    phone = by_record[("phones", "rejected")]
    assert (phone["file"], phone["place"], phone["kind"]) == ("sites.csv", "4", "service")
    hours = by_record[("schedules", "kept as text")]
    assert (hours["place"], hours["problem"]) == (
        "4",
        "hours 'By appointment only' not understood: kept as the provider wrote them",
    )
    table = app.test_cli_runner().invoke(args=["scrape", "problems", str(run_id)])
    assert table.exit_code == 0 and f"import run {run_id} (csv, succeeded): 3 problem(s)" in table.output
    missing = app.test_cli_runner().invoke(args=["scrape", "problems", "999999"])
    assert missing.exit_code == 1 and "no import run 999999" in missing.output


def test_the_csv_cannot_run_a_formula(app, tmp_path):
    with app.app_context():
        run = ImportRun(source="x", location="x", started_at=FIXED_NOW, status="succeeded")
        run.problems = json.dumps(
            [{"where": "a.csv:2", "record": "=cmd|' /C calc'!A0", "problem": "@SUM(1)", "action": "rejected"}]
        )
        db.session.add(run)
        db.session.commit()
        run_id = run.id
    out = app.test_cli_runner().invoke(args=["scrape", "problems", str(run_id), "--csv"])
    (row,) = list(csv.DictReader(io.StringIO(out.output)))
    assert row["record"] == "'=cmd|' /C calc'!A0" and row["problem"] == "'@SUM(1)"


def test_the_page_shows_auditors_each_problem_escaped(app, client, session, run_id):
    pm = make_user(session, role="project_manager")
    session.commit()
    login(client, pm)
    page = client.get(f"/pm/imports/{run_id}/problems")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "sites.csv" in text and "kept as text" in text and "By appointment only" in text
    hostile = ImportRun(source="x", location="x", started_at=FIXED_NOW, status="succeeded")
    hostile.problems = json.dumps(
        [{"where": "a.csv:2", "record": "r", "problem": "<img src=x onerror=alert(1)>"}]
    )
    session.add(hostile)
    session.commit()
    text = client.get(f"/pm/imports/{hostile.id}/problems").get_data(as_text=True)
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    listing = client.get("/pm/imports").get_data(as_text=True)
    assert f"/pm/imports/{run_id}/problems" in listing
    download = client.get(f"/pm/imports/{run_id}/problems.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert client.get("/pm/imports/999999/problems").status_code == 404


@pytest.mark.parametrize("role", ["case_manager", "provider", "peer_outreach"])
def test_other_roles_do_not_see_import_problems(app, client, session, run_id, role):
    organization = Organization(name="Harbor Light") if role == "provider" else None
    user = make_user(session, role=role, organization=organization)
    session.commit()
    login(client, user)
    for url in (f"/pm/imports/{run_id}/problems", f"/pm/imports/{run_id}/problems.csv", "/pm/imports"):
        response = client.get(url)
        assert response.status_code == 403
        assert "By appointment only" not in response.get_data(as_text=True)


def test_anonymous_visitors_do_not_see_import_problems(client, run_id):
    response = client.get(f"/pm/imports/{run_id}/problems")
    assert response.status_code in (302, 401)
    assert "By appointment only" not in response.get_data(as_text=True)
