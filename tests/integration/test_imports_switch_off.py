"""The site's other choice for services missing from a full import (`[imports] missing_services =
"switch_off"`): they are switched off even when people rely on them, never silently: their holds are marked at
risk through the capacity rule's at-risk flags (case managers told), their provider and the project managers
told, each noted on the run and in the audit log."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from directory.config import ConfigError, load_site
from directory.domain.imports import run_import
from directory.models import (
    AuditEvent,
    ImportRun,
    Notification,
    Organization,
    Referral,
    Service,
    ServiceCapacity,
)
from tests.conftest import FIXED_NOW
from tests.factories import make_user
from tests.scrapers.helpers import small_result

pytestmark = pytest.mark.db

CAPACITY = {"unit": "bed", "maximum": 10, "available": 2}
SITE_FILE = Path(__file__).resolve().parents[2] / "data" / "site.toml"


def only_four():
    result = small_result(4, CAPACITY)
    result.services = [s for s in result.services if s.source_id == "svc-4"]
    result.locations = [loc for loc in result.locations if loc.source_id == "loc-4"]
    return result


def relied_on_world(session):
    """Four services of the feed: svc-1 confirmed two days ago, svc-3 with two holds (one already at risk),
    svc-2 nobody relies on."""
    run_import(session, "feed", "memory", lambda: small_result(4, CAPACITY), FIXED_NOW)
    by_sid = dict(
        session.execute(select(Service.source_id, Service.id).where(Service.source == "feed")).all()
    )
    org = session.scalar(select(Organization).where(Organization.source == "feed"))
    people = {
        "provider": make_user(session, "provider", organization=org),
        "other_provider": make_user(session, "provider", organization=Organization(name="Another Org")),
        "manager": make_user(session, "project_manager"),
        "cm": make_user(session, "case_manager"),
        "cm2": make_user(session, "case_manager"),
    }
    session.get(ServiceCapacity, by_sid["svc-1"]).confirmed_at = FIXED_NOW - timedelta(days=2)
    for user, at_risk in (("cm", False), ("cm2", True)):
        session.add(
            Referral(
                service_id=by_sid["svc-3"],
                action="claim",
                classification="spare_capacity",
                state="held",
                hold="general",
                at_risk=at_risk,
                created_by=people[user].id,
                created_at=FIXED_NOW - timedelta(hours=1),
                expires_at=FIXED_NOW + timedelta(hours=5),
            )
        )
    session.commit()
    return by_sid, people


def test_switch_off_deactivates_relied_on_services_and_tells_everyone(session):
    by_sid, people = relied_on_world(session)
    run, outcome = run_import(session, "feed", "memory", only_four, FIXED_NOW, switch_off_missing=True)
    session.commit()
    statuses = {sid: session.get(Service, i).status for sid, i in by_sid.items()}
    assert statuses == {"svc-1": "inactive", "svc-2": "inactive", "svc-3": "inactive", "svc-4": "active"}
    assert run.deactivated == 3 and outcome.flagged_missing == 0
    assert (outcome.switched_off, outcome.holds_at_risk) == (2, 2)
    counts = json.loads(session.get(ImportRun, run.id).counts)
    assert (counts["switched_off"], counts["holds_at_risk"]) == (2, 2)
    holds = session.scalars(select(Referral).where(Referral.service_id == by_sid["svc-3"])).all()
    assert [h.at_risk for h in holds] == [True, True] and all(h.state == "held" for h in holds)
    # The case manager whose hold newly went at risk is told why; the one already at risk is not told again.
    told = session.scalars(select(Notification).where(Notification.kind == "hold_at_risk")).all()
    assert [n.user_id for n in told] == [people["cm"].id]
    assert "no longer lists this service" in told[0].body and "numbers" not in told[0].body
    switched = session.scalars(select(Notification).where(Notification.kind == "import_switched_off")).all()
    assert sorted((n.user_id, n.subject) for n in switched) == sorted(
        (people[who].id, f"Switched off: Night Shelter {n} is not in the feed feed")
        for who in ("provider", "manager")
        for n in (1, 3)
    )  # not the other organization's provider, not the case managers
    noted = {p.record: p.problem for p in outcome.result.problems if p.field == "status"}
    assert set(noted) == {"svc-1", "svc-3"}
    assert "switched off (the site's setting); 2 hold(s) marked at risk" in noted["svc-3"]
    audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "import.switch_off")).all()
    assert sorted(int(e.object_id) for e in audited) == sorted((by_sid["svc-1"], by_sid["svc-3"]))


def test_the_default_still_flags_instead(session):
    by_sid, _ = relied_on_world(session)
    _, outcome = run_import(session, "feed", "memory", only_four, FIXED_NOW)
    session.commit()
    assert session.get(Service, by_sid["svc-3"]).status == "active"
    assert outcome.switched_off == 0 and outcome.flagged_missing == 2
    holds = session.scalars(select(Referral).where(Referral.service_id == by_sid["svc-3"])).all()
    assert sorted(h.at_risk for h in holds) == [False, True]  # as they were: the service stays
    assert not session.scalars(select(Notification).where(Notification.kind == "hold_at_risk")).all()


def test_the_cli_follows_the_site_setting(app, runner, session, tmp_path):
    feed = tmp_path / "hud.csv"
    header = "ID,STATE,ADDRESS,city,zip,Longitude,Latitude,total_beds\n"
    feed.write_text(
        header
        + "h1,WA,1 Main St,Seattle,98101,-122.33,47.61,10\nh2,WA,2 Main St,Seattle,98101,-122.33,47.62,5\n"
    )
    assert runner.invoke(args=["scrape", "run", "hud-inventory", str(feed)]).exit_code == 0
    h2 = session.scalar(select(Service).where(Service.source_id == "h2"))
    h2.capacity.confirmed_at = FIXED_NOW - timedelta(days=1)
    session.commit()
    feed.write_text(header + "h1,WA,1 Main St,Seattle,98101,-122.33,47.61,10\n")
    app.config["SITE"] = dataclasses.replace(app.config["SITE"], missing_services="switch_off")
    out = runner.invoke(args=["scrape", "run", "hud-inventory", str(feed)])
    assert out.exit_code == 0, out.output
    assert "1 service(s) missing from the feed that people relied on switched off" in out.output
    session.expire_all()
    assert session.get(Service, h2.id).status == "inactive"


def test_the_site_file_setting(tmp_path):
    assert load_site(SITE_FILE).missing_services == "flag"
    site = tmp_path / "site.toml"
    site.write_text(SITE_FILE.read_text() + '\n[imports]\nmissing_services = "switch_off"\n')
    assert load_site(site).missing_services == "switch_off"
    site.write_text(SITE_FILE.read_text() + '\n[imports]\nmissing_services = "delete"\n')
    with pytest.raises(ConfigError, match="missing_services must be flag or switch_off"):
        load_site(site)
