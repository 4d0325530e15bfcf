"""Hours through the whole path: a CSV import keeps what it cannot read, monthly openings are stored as
HSDS ordinal weekdays, "open now" honours them in SQL, the service page shows the provider's words, and the
HSDS export carries both back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from directory.domain.hours import is_open, open_now_sql
from directory.domain.hsds_export import export
from directory.domain.imports import run_import
from directory.domain.reference import Reference
from directory.domain.search import parse_query, search
from directory.models import ImportRun, Referral, Schedule, Service
from scrapers import generic_csv, hsds
from tests.conftest import FIXED_NOW
from tests.factories import make_service
from tests.web.test_case_manager_pages import cm_world  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.db

CSV = (
    "Program,Hours,d1,d1_open,d1_close\n"
    "Weekday Pantry,Mon-Fri 9am-5pm,,,\n"
    "Fourth Tuesday Pantry,2nd & 4th Tuesday 10am-2pm,,,\n"
    "Appointment Clinic,By appointment only,,,\n"
    "Spread Columns,,Saturday,9:00am,1:00pm\n"
    "Spread Nonsense,,Saturday,soon,later\n"
)
MAPPING = {
    "columns": {"name": "Program", "hours": "Hours"},
    "domain": "food",
    "hours_columns": [{"day": "d1", "opens": "d1_open", "closes": "d1_close"}],
    "no_location": True,
}


def _import(session, tmp_path):
    path = tmp_path / "pantries.csv"
    path.write_text(CSV, encoding="utf-8")
    return run_import(session, "csv", str(path), lambda: generic_csv.parse(path, MAPPING), FIXED_NOW)


def _service(session, name) -> Service:
    return session.scalars(select(Service).where(Service.name == name)).one()


def _slots(service):
    return sorted((s.freq, s.byday, s.opens_at, s.closes_at) for s in service.schedules)


def test_an_import_reads_hours_exactly_or_keeps_the_providers_words(session, tmp_path):
    run, _ = _import(session, tmp_path)
    weekday = _service(session, "Weekday Pantry")
    assert _slots(weekday) == [
        ("WEEKLY", d, time(9), time(17)) for d in sorted(["MO", "TU", "WE", "TH", "FR"])
    ]
    assert weekday.hours_text is None
    monthly = _service(session, "Fourth Tuesday Pantry")
    assert _slots(monthly) == [("MONTHLY", "2TU", time(10), time(14)), ("MONTHLY", "4TU", time(10), time(14))]
    clinic = _service(session, "Appointment Clinic")
    assert clinic.schedules == [] and clinic.hours_text == "By appointment only"
    assert _slots(_service(session, "Spread Columns")) == [("WEEKLY", "SA", time(9), time(13))]
    nonsense = _service(session, "Spread Nonsense")
    assert nonsense.schedules == [] and nonsense.hours_text == "Saturday soon-later"
    stored = json.loads(session.get(ImportRun, run.id).problems)
    problems = [p for p in stored if p.get("field") == "schedules"]
    assert sorted(p["action"] for p in problems) == ["kept as text", "kept as text"]
    assert all("not understood" in p["problem"] for p in problems)


def test_open_now_honours_monthly_openings_in_sql_and_in_python(app, session):
    # FIXED_NOW is Tuesday 24 November 2026, 10:00 in Seattle: the 4th and the last Tuesday of the month;
    # Monday the 23rd is the 4th Monday but not the last (the 30th is).
    site = app.config["SITE"]
    cases = {
        "fourth tuesday": (("4TU", time(9), time(17)), True),
        "last tuesday": (("-1TU", time(9), time(17)), True),
        "first tuesday": (("1TU", time(9), time(17)), False),
        "third tuesday": (("3TU", time(9), time(17)), False),
        "fourth monday overnight": (("4MO", time(21), time(11)), True),
        "last monday overnight": (("-1MO", time(21), time(11)), False),
        "fifth tuesday": (("5TU", time(0), time(0)), False),
    }
    ids = {name: make_service(session, name=name, schedules=(slot,)).id for name, (slot, _) in cases.items()}
    open_sql = open_now_sql(Schedule.__table__, Service.id, FIXED_NOW, site.time_zone)
    found = set(session.scalars(select(Service.name).where(Service.id.in_(ids.values()), open_sql)))
    assert found == {name for name, (_, expected) in cases.items() if expected}
    for name, (_, expected) in cases.items():
        assert is_open(session.get(Service, ids[name]).schedules, FIXED_NOW, site.time_zone) is expected


def test_sql_and_python_agree_on_every_day_of_a_month(app, session):
    site = app.config["SITE"]
    codes = ["1WE", "2WE", "3WE", "4WE", "5WE", "-1WE", "WE"]
    ids = {
        code: make_service(session, name=code, schedules=((code, time(8), time(20)),)).id for code in codes
    }
    start = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)  # noon in Seattle
    for offset in range(31):
        moment = start + timedelta(days=offset)
        sql = open_now_sql(Schedule.__table__, Service.id, moment, site.time_zone)
        found = set(session.scalars(select(Service.name).where(Service.id.in_(ids.values()), sql)))
        expected = {
            c for c in codes if is_open(session.get(Service, ids[c]).schedules, moment, site.time_zone)
        }
        assert found == expected
        day = moment.day
        if moment.weekday() == 2:  # Wednesdays of December 2026: the 2nd, 9th, 16th, 23rd and 30th
            assert f"{(day - 1) // 7 + 1}WE" in found and "WE" in found
            assert ("-1WE" in found) is (day == 30)


def test_the_service_page_shows_the_providers_words_and_says_call(client, session, tmp_path):
    _import(session, tmp_path)
    session.commit()
    clinic = _service(session, "Appointment Clinic")
    page = client.get(f"/services/{clinic.id}").get_data(as_text=True)
    assert "Hours as the provider wrote them" in page and "By appointment only" in page
    assert "Hours unknown — call" in page
    monthly = _service(session, "Fourth Tuesday Pantry")
    page = client.get(f"/services/{monthly.id}").get_data(as_text=True)
    assert "2nd Tuesday of the month" in page and "4th Tuesday of the month" in page
    assert "Hours as the provider wrote them" not in page and "Hours unknown" not in page


def test_the_hsds_export_carries_monthly_hours_and_kept_words_back(app, session, tmp_path):
    _import(session, tmp_path)
    session.commit()
    before = {s.name: (_slots(s), s.hours_text) for s in session.scalars(select(Service))}
    target = tmp_path / "export"
    export(session, target, "csv")
    session.rollback()
    for service in session.scalars(select(Service)):
        session.delete(service)
    session.flush()
    run, _ = run_import(session, "hsds", str(target), lambda: hsds.parse(target), FIXED_NOW)
    after = {s.name: (_slots(s), s.hours_text) for s in session.scalars(select(Service))}
    assert after == before


def test_open_now_says_call_for_hours_it_could_not_read(client, app, session, tmp_path):
    _import(session, tmp_path)
    session.commit()
    page = client.get("/search?q=clinic").get_data(as_text=True)
    assert "Appointment Clinic" in page and "Hours unknown — call" in page
    page = client.get("/search?q=weekday").get_data(as_text=True)
    assert "Weekday Pantry" in page and "Hours unknown" not in page
    # Unknown hours are neither open nor closed now: the "closed now" filter does not list them either.
    site = app.config["SITE"]
    for flag, listed in (("true", "Weekday Pantry"), ("false", "Spread Columns")):  # Tuesday 10:00
        query = parse_query({"open_now": flag}, Reference.load(session), None, site.default_radius_km)
        names = {service.name for service, _ in search(session, query, site, FIXED_NOW).items}
        assert listed in names and "Appointment Clinic" not in names


def test_the_slip_prints_the_providers_words_and_monthly_hours(client, session, cm_world):  # noqa: F811
    spare = session.get(Service, cm_world["spare"])
    spare.hours_text = "Doors open after the 7pm meal <ask at the desk>"
    session.commit()
    client.post(
        "/referrals",
        data={"service_id": cm_world["spare"], "participant": cm_world["code"], "action": "claim"},
    )
    referral_id = session.scalars(select(Referral.id).where(Referral.service_id == cm_world["spare"])).one()
    english = client.get(f"/referrals/{referral_id}/slip").get_data(as_text=True)
    spanish = client.get(f"/referrals/{referral_id}/slip?lang=es").get_data(as_text=True)
    assert "Hours as the provider wrote them" in english and "Hours unknown — call" in english
    assert "Horario tal como lo escribió el proveedor" in spanish and "Horario desconocido: llame" in spanish
    for html in (english, spanish):
        assert "Doors open after the 7pm meal &lt;ask at the desk&gt;" in html and "<ask at" not in html
    # The provider sends hours that read: the slip gives them, and no longer the words or "call".
    spare = session.get(Service, cm_world["spare"])
    spare.hours_text = None
    spare.schedules.append(Schedule(freq="MONTHLY", byday="1WE", opens_at=time(10), closes_at=time(12)))
    session.commit()
    monthly = client.get(f"/referrals/{referral_id}/slip").get_data(as_text=True)
    assert "1st Wed of the month 10:00–12:00" in monthly
    assert "Hours as the provider wrote them" not in monthly and "Hours unknown" not in monthly
