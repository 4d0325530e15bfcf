"""Deactivation is never silent: a service missing from a full import that people still rely on (numbers a
provider confirmed recently, LEAD-funded units, open holds) stays active and is flagged to its provider and
the project managers; the others are marked inactive as before."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from directory.domain.imports import relied_on, run_import
from directory.models import ImportRun, Notification, Organization, Referral, Service, ServiceCapacity
from tests.conftest import FIXED_NOW
from tests.factories import make_user
from tests.scrapers.helpers import small_result

pytestmark = pytest.mark.db

CAPACITY = {"unit": "bed", "maximum": 10, "available": 2}


def ids(session) -> dict[str, int]:
    return dict(session.execute(select(Service.source_id, Service.id).where(Service.source == "feed")).all())


def status(session, source_id: str) -> str:
    return session.scalar(
        select(Service.status).where(Service.source == "feed", Service.source_id == source_id)
    )


def test_relied_on_services_stay_active_and_are_flagged(session):
    run_import(session, "feed", "memory", lambda: small_result(4, CAPACITY), FIXED_NOW)
    by_sid = ids(session)
    org = session.scalar(select(Organization).where(Organization.source == "feed"))
    provider = make_user(session, "provider", organization=org)
    other_provider = make_user(session, "provider", organization=Organization(name="Another Org"))
    manager = make_user(session, "project_manager")
    case_manager = make_user(session, "case_manager")
    recent, old = FIXED_NOW - timedelta(days=2), FIXED_NOW - timedelta(days=60)
    for sid, confirmed in (("svc-1", recent), ("svc-2", old), ("svc-3", old)):
        capacity = session.get(ServiceCapacity, by_sid[sid])
        capacity.confirmed_at = confirmed
    session.add(
        Referral(
            service_id=by_sid["svc-3"],
            action="claim",
            classification="spare_capacity",
            state="held",
            hold="general",
            created_by=case_manager.id,
            created_at=FIXED_NOW - timedelta(hours=1),
            expires_at=FIXED_NOW + timedelta(hours=5),
        )
    )
    session.commit()
    # The feed now lists only svc-4: svc-1 (confirmed two days ago) and svc-3 (a hold) stay; svc-2 goes.
    only_four = small_result(4, CAPACITY)
    only_four.services = [s for s in only_four.services if s.source_id == "svc-4"]
    only_four.locations = [loc for loc in only_four.locations if loc.source_id == "loc-4"]
    run, outcome = run_import(session, "feed", "memory", lambda: only_four, FIXED_NOW)
    assert {sid: status(session, sid) for sid in ("svc-1", "svc-2", "svc-3", "svc-4")} == {
        "svc-1": "active",
        "svc-2": "inactive",
        "svc-3": "active",
        "svc-4": "active",
    }
    assert run.deactivated == 1 and outcome.flagged_missing == 2
    assert json.loads(session.get(ImportRun, run.id).counts)["flagged_missing"] == 2
    flagged = {p.record: p.problem for p in outcome.result.problems if p.action == "flagged"}
    assert set(flagged) == {"svc-1", "svc-3"}
    assert "confirmed it on" in flagged["svc-1"] and "1 hold(s)" in flagged["svc-3"]
    notices = session.scalars(select(Notification).where(Notification.kind == "import_missing")).all()
    told = sorted((n.user_id, n.subject) for n in notices)
    expected = sorted(
        (user.id, f"Not in the feed feed: Night Shelter {n}") for user in (provider, manager) for n in (1, 3)
    )
    assert told == expected  # not the other organization's provider, not the case manager
    assert other_provider.id not in {n.user_id for n in notices}


def test_a_dry_run_flags_nothing_for_real(session):
    run_import(session, "feed", "memory", lambda: small_result(2, CAPACITY), FIXED_NOW)
    capacity = session.get(ServiceCapacity, ids(session)["svc-1"])
    capacity.confirmed_at = FIXED_NOW - timedelta(hours=3)
    make_user(session, "project_manager")
    session.commit()
    only_two = small_result(2, CAPACITY)
    only_two.services = [s for s in only_two.services if s.source_id == "svc-2"]
    _, outcome = run_import(session, "feed", "memory", lambda: only_two, FIXED_NOW, True)
    assert outcome.flagged_missing == 1  # what a real run would do is reported ...
    assert session.scalars(select(Notification)).all() == []  # ... and nobody is told
    assert status(session, "svc-1") == "active"


def test_relied_on_names_each_reason(session):
    run_import(session, "feed", "memory", lambda: small_result(2, CAPACITY), FIXED_NOW)
    by_sid = ids(session)
    session.get(ServiceCapacity, by_sid["svc-1"]).confirmed_at = FIXED_NOW - timedelta(days=13)
    session.get(ServiceCapacity, by_sid["svc-2"]).confirmed_at = FIXED_NOW - timedelta(days=15)
    session.commit()
    reasons = relied_on(session, list(by_sid.values()), FIXED_NOW)
    assert set(reasons) == {by_sid["svc-1"]}  # 13 days is recent (14-day window), 15 is not
