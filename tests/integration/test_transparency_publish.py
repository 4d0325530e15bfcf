"""Transparency figures are published for closed periods only, stored once, corrected only by dated
revisions, and carry the audit chain's head; the public page and API only read what is stored."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from directory.config import DATA_DIR
from directory.domain import capacity as cap
from directory.domain.access import SYSTEM
from directory.domain.clock import SiteClock
from directory.domain.transparency import HIDDEN, publish_closed
from directory.extensions import db
from directory.jobs import JOBS, run_job
from directory.models import AuditEvent, AuditHead, Referral, TaxonomyTerm, TransparencyPeriod
from tests.conftest import FIXED_NOW, make_app
from tests.factories import make_participant, make_service, make_user

SEATTLE = "America/Los_Angeles"
JOB = {job.name: job for job in JOBS}["publish_transparency"]


def add_referrals(session, at: datetime, classification: str, action: str, count: int, domain="housing"):
    """Referral rows made at a given time (what the figures count; made directly, not through a check)."""
    cm = make_user(session)
    service = make_service(session, domain=domain)
    for _ in range(count):
        session.add(
            Referral(
                service_id=service.id,
                participant_id=make_participant(session, cm).id,
                action=action,
                classification=classification,
                state="requested" if action == "request" else "waitlisted",
                hold="none",
                created_at=at,
                created_by=cm.id,
                domain=domain,
            )
        )
    session.flush()


@pytest.fixture
def world(app):
    """September and October (Seattle) referrals, and some in the current month (November)."""
    with app.app_context():
        session = db.session
        add_referrals(session, datetime(2026, 9, 10, 18, tzinfo=UTC), cap.OPEN_ACCESS, "request", 12)
        add_referrals(session, datetime(2026, 9, 11, 18, tzinfo=UTC), cap.FULL, "join_waitlist", 2, "food")
        # 1 October 06:30 UTC is still 30 September in Seattle.
        add_referrals(session, datetime(2026, 10, 1, 6, 30, tzinfo=UTC), cap.OPEN_ACCESS, "request", 1)
        add_referrals(session, datetime(2026, 10, 20, 18, tzinfo=UTC), cap.OPEN_ACCESS, "request", 7)
        add_referrals(session, datetime(2026, 11, 20, 18, tzinfo=UTC), cap.OPEN_ACCESS, "request", 9)
        session.commit()
    return app


def test_only_closed_months_are_published_with_their_stored_figures(world):
    client = world.test_client()
    assert client.get("/api/v1/transparency").get_json()["periods"] == []  # nothing computed on a request
    assert run_job(world, JOB, "me", FIXED_NOW) == "2 period(s) published: 2026-09, 2026-10"
    body = client.get("/api/v1/transparency").get_json()
    assert body["period_kind"] == "month"
    periods = {p["period"]: p for p in body["periods"]}
    assert list(periods) == ["2026-10", "2026-09"]  # November has not ended: absent
    september, october = periods["2026-09"], periods["2026-10"]
    assert september["total"] == 15 and october["total"] == 7  # 12 + 2 + 1 (Seattle's 30 September)
    assert (september["start"], september["end"]) == ("2026-09-01", "2026-10-01")
    # One total per period; each breakdown lists every category, zeros included.
    with world.app_context():
        domains = db.session.scalars(select(TaxonomyTerm.id).where(TaxonomyTerm.parent_id.is_(None))).all()
    cells = september["referrals_by_domain"]["cells"]
    assert set(cells) == {*domains, "unknown"}
    assert cells["housing"] == 13 and cells["food"] == HIDDEN
    assert list(cells.values()).count(HIDDEN) == len(cells) - 1  # every other cell below 5 hides with it
    classification = september["referrals_by_classification"]["cells"]
    assert set(classification) == set(cap.CLASSIFICATIONS)
    assert classification[cap.OPEN_ACCESS] == 13 and classification[cap.FULL] == HIDDEN
    assert classification[cap.SPARE_CAPACITY] == HIDDEN  # a zero hidden beside the small count
    october_cells = october["referrals_by_classification"]["cells"]
    assert october_cells[cap.OPEN_ACCESS] == 7 and set(october_cells.values()) == {0, 7}
    assert "total" not in september["referrals_by_classification"]  # the total is the period's, once
    assert "lead_funded_units_now" not in body  # no live figure


def test_published_figures_never_change_and_a_revision_is_dated_with_its_reason(world):
    run_job(world, JOB, "me", FIXED_NOW)
    client = world.test_client()
    before = client.get("/api/v1/transparency").get_json()
    with world.app_context():
        # A late record inside September, and a new referral now: the stored figures do not move.
        add_referrals(db.session, datetime(2026, 9, 20, 18, tzinfo=UTC), cap.OPEN_ACCESS, "request", 3)
        add_referrals(db.session, FIXED_NOW, cap.OPEN_ACCESS, "request", 1)
        db.session.commit()
    assert run_job(world, JOB, "me", FIXED_NOW + timedelta(hours=1)) == "0 period(s) published"
    assert client.get("/api/v1/transparency").get_json() == before
    runner = world.test_cli_runner()
    refused = runner.invoke(args=["transparency", "revise", "2026-09", "--reason", "short"])
    assert refused.exit_code == 1 and "reason" in refused.output
    result = runner.invoke(
        args=["transparency", "revise", "2026-09", "--reason", "three referrals recorded late by a provider"]
    )
    assert result.exit_code == 0, result.output
    assert "2026-09 revision 2" in result.output
    after = {p["period"]: p for p in client.get("/api/v1/transparency").get_json()["periods"]}
    assert after["2026-09"]["total"] == 18
    revisions = after["2026-09"]["revisions"]
    assert [r["reason"] for r in revisions] == [None, "three referrals recorded late by a provider"]
    assert revisions[0]["published_at"] == before["periods"][1]["published_at"]
    assert after["2026-10"] == before["periods"][0]
    again = runner.invoke(args=["transparency", "revise", "2026-10", "--reason", "checked again, no change"])
    assert again.exit_code == 0 and "unchanged" in again.output
    with world.app_context():
        assert db.session.scalar(select(func.count()).select_from(TransparencyPeriod)) == 3
    html = client.get("/transparency").get_data(as_text=True)
    assert "three referrals recorded late by a provider" in html and 'data-period="2026-11"' not in html


def test_each_period_records_the_audit_head_of_its_publication(world):
    run_job(world, JOB, "me", FIXED_NOW)
    body = world.test_client().get("/api/v1/transparency").get_json()
    with world.app_context():
        head = db.session.get(AuditHead, 1)
        for period in body["periods"]:
            anchor = period["audit_head"]
            assert set(anchor) == {"sequence", "hash", "at"}
            event = db.session.get(AuditEvent, anchor["sequence"])
            assert event.hash == anchor["hash"] and event.action == "transparency.publish"
            assert anchor["at"] == event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # October was published last: its publication is the chain's head (nothing was appended since).
        assert body["periods"][0]["audit_head"]["sequence"] == head.last_event_id
        assert body["periods"][0]["audit_head"]["hash"] == head.last_hash


def site_file(tmp_path, **changes) -> str:
    """The demo site file with some [site] keys changed."""
    text = (DATA_DIR / "site.toml").read_text()
    for key, value in changes.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    path = tmp_path / "site.toml"
    path.write_text(text)
    return str(path)


def test_a_site_may_publish_quarters(world, tmp_path):
    quarterly = make_app(
        world.config["DATABASE_URL"],
        CLOCK=lambda: FIXED_NOW,
        SITE_CONFIG=site_file(tmp_path, transparency_period='"quarter"'),
    )
    assert quarterly.config["SITE"].transparency_period == "quarter"
    with quarterly.app_context():
        published = publish_closed(db.session, SYSTEM, SiteClock(SEATTLE, lambda: FIXED_NOW), "quarter")
        db.session.commit()
    assert published == ["2026-Q3"]  # the fourth quarter has not ended
    body = quarterly.test_client().get("/api/v1/transparency").get_json()
    assert body["period_kind"] == "quarter"
    assert [(p["period"], p["total"]) for p in body["periods"]] == [("2026-Q3", 15)]


def test_a_bad_period_kind_is_refused(tmp_path):
    from directory.config import ConfigError, load_site

    with pytest.raises(ConfigError, match="transparency_period"):
        load_site(site_file(tmp_path, transparency_period='"week"'))


def test_cli_publish_is_idempotent(world):
    runner = world.test_cli_runner()
    first = runner.invoke(args=["transparency", "publish"])
    assert first.exit_code == 0 and "2026-09, 2026-10" in first.output
    second = runner.invoke(args=["transparency", "publish"])
    assert second.exit_code == 0 and "nothing new" in second.output


def test_the_openapi_document_describes_the_published_shape(world):
    run_job(world, JOB, "me", FIXED_NOW)
    client = world.test_client()
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Transparency"]
    body = client.get("/api/v1/transparency").get_json()
    assert set(body) == set(schema["required"])
    period_schema = schema["properties"]["periods"]["items"]
    for period in body["periods"]:
        assert set(period) == set(period_schema["required"]) == set(period_schema["properties"])
        assert set(period["audit_head"]) == set(period_schema["properties"]["audit_head"]["required"])
        for key in ("referrals_by_classification", "referrals_by_domain"):
            assert set(period[key]) == set(period_schema["properties"][key]["required"])


def test_every_published_number_is_0_at_least_5_or_fewer_than_5(world):
    run_job(world, JOB, "me", FIXED_NOW)
    body = world.test_client().get("/api/v1/transparency").get_json()
    seen = []

    def walk(node, key=None):
        if isinstance(node, dict):
            for name, value in node.items():
                # The audit head's sequence is an event id, not a count (documented in the OpenAPI schema).
                if not (name == "sequence" and key == "audit_head"):
                    walk(value, name)
        elif isinstance(node, list):
            for value in node:
                walk(value, key)
        elif isinstance(node, bool | float):
            raise AssertionError(f"{key}: no booleans or other numbers expected outside 'shown'")
        elif isinstance(node, int):
            seen.append(node)
            assert node == 0 or node >= 5, key

    for period in body["periods"]:
        for key in ("referrals_by_classification", "referrals_by_domain"):
            assert isinstance(period[key].pop("shown"), bool)
    walk(body)
    assert seen and "P-" not in json.dumps(body)
