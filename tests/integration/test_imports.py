"""The shared upsert: idempotent, deactivates what a full import no longer has, keeps provider-confirmed
numbers, one transaction (a failure leaves the directory as it was), dry runs write nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from directory.domain.imports import run_import
from directory.models import (
    CapacityEvent,
    ImportRun,
    Organization,
    Service,
    ServiceCapacity,
    ServiceSearchTerm,
)
from scrapers.common import SourceError
from tests.conftest import FIXED_NOW
from tests.scrapers.helpers import small_result

pytestmark = pytest.mark.db


def run(session, result_factory, dry_run=False, now=FIXED_NOW, source="test"):
    return run_import(session, source, "memory", result_factory, now, dry_run)


def count(session, model, **where):
    statement = select(func.count()).select_from(model)
    for name, value in where.items():
        statement = statement.where(getattr(model, name) == value)
    return session.scalar(statement)


def snapshot(session):
    """Everything an import may touch, as plain values."""
    services = session.execute(
        select(Service.source_id, Service.name, Service.status, Service.import_hash).order_by(
            Service.source_id
        )
    ).all()
    caps = session.execute(
        select(
            ServiceCapacity.service_id,
            ServiceCapacity.maximum,
            ServiceCapacity.available,
            ServiceCapacity.confirmed_at,
        ).order_by(ServiceCapacity.service_id)
    ).all()
    orgs = session.execute(
        select(Organization.source_id, Organization.active).order_by(Organization.id)
    ).all()
    return services, caps, orgs, count(session, ServiceSearchTerm)


def test_first_import_adds_and_second_changes_nothing(session):
    first, outcome = run(session, lambda: small_result(3))
    assert (first.status, first.added, first.changed) == ("succeeded", 1 + 3 + 3, 0)
    assert count(session, Service, source="test") == 3
    assert session.scalar(select(func.count()).select_from(ServiceSearchTerm)) > 0
    before = snapshot(session)
    second, outcome = run(session, lambda: small_result(3))
    assert (second.added, second.changed, second.unchanged, second.deactivated) == (0, 0, 7, 0)
    assert snapshot(session) == before


def test_a_changed_record_is_updated_in_place(session):
    run(session, lambda: small_result(2))
    ids = dict(session.execute(select(Service.source_id, Service.id)).all())

    def renamed():
        result = small_result(2)
        result.services[0].name = "Night Shelter One (renamed)"
        return result

    second, _ = run(session, renamed)
    assert (second.added, second.changed) == (0, 1)
    assert dict(session.execute(select(Service.source_id, Service.id)).all()) == ids
    assert session.get(Service, ids["svc-1"]).name == "Night Shelter One (renamed)"


def test_records_missing_from_a_full_import_are_deactivated_not_deleted(session):
    run(session, lambda: small_result(3))
    second, outcome = run(session, lambda: small_result(2))
    assert second.deactivated == 1
    assert session.scalar(select(Service.status).where(Service.source_id == "svc-3")) == "inactive"
    assert count(session, Service, source="test") == 3
    third, _ = run(session, lambda: small_result(3))
    assert third.changed == 1
    assert session.scalar(select(Service.status).where(Service.source_id == "svc-3")) == "active"


def test_other_sources_are_untouched(session):
    run(session, lambda: small_result(2), source="a")
    run(session, lambda: small_result(1), source="b")
    assert count(session, Service, status="active") == 3


def test_capacity_from_a_source_is_unverified_and_unknown_counts_stay_unknown(session):
    run(session, lambda: small_result(1, {"unit": "bed", "maximum": 40}))
    row = session.scalar(select(ServiceCapacity))
    assert (row.maximum, row.available, row.waitlist, row.confirmed_at) == (40, None, None, None)
    event = session.scalar(select(CapacityEvent))
    assert (event.kind, event.channel) == ("import", "import")


def test_provider_confirmed_numbers_are_never_overwritten_by_older_source_numbers(session):
    run(session, lambda: small_result(1, {"unit": "bed", "maximum": 40}))
    row = session.scalar(select(ServiceCapacity))
    confirmed = FIXED_NOW - timedelta(hours=1)
    row.maximum, row.available, row.waitlist, row.confirmed_at = 30, 5, 2, confirmed
    session.commit()
    older = {"unit": "bed", "maximum": 50, "available": 9, "updated": FIXED_NOW - timedelta(days=2)}

    def changed():
        result = small_result(1, older)
        result.services[0].description = "new text from the source"
        return result

    _, outcome = run(session, changed)
    session.expire_all()
    row = session.scalar(select(ServiceCapacity))
    assert (row.maximum, row.available, row.waitlist, row.confirmed_at) == (30, 5, 2, confirmed)
    assert session.scalar(select(Service.description)) == "new text from the source"
    assert outcome.kept_confirmed == 1
    newer = {"unit": "bed", "maximum": 50, "available": 9, "updated": FIXED_NOW}
    run(session, lambda: small_result(1, newer))
    session.expire_all()
    row = session.scalar(select(ServiceCapacity))
    assert (row.maximum, row.available) == (50, 9)
    assert row.held_general == 0


def test_dry_run_writes_nothing_but_reports_what_it_would_do(session):
    before = snapshot(session)
    run_row, outcome = run(session, lambda: small_result(3), dry_run=True)
    assert snapshot(session) == before
    assert run_row.dry_run and run_row.status == "succeeded" and run_row.added == 7
    run(session, lambda: small_result(3))
    run_row, _ = run(session, lambda: small_result(1), dry_run=True)
    assert run_row.deactivated == 2
    assert count(session, Service, status="active") == 3


def test_a_failing_run_leaves_the_directory_as_it_was(session, monkeypatch):
    run(session, lambda: small_result(2))
    before = snapshot(session)
    from directory.domain import imports

    def boom(self, *args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports.Writer, "deactivate_missing", boom)

    def changed():
        result = small_result(3)
        result.services[0].name = "Changed before the failure"
        return result

    with pytest.raises(RuntimeError):
        run(session, changed)
    assert snapshot(session) == before
    failed = session.scalars(select(ImportRun).order_by(ImportRun.id.desc())).first()
    assert failed.status == "failed" and "disk on fire" in failed.error


def test_a_parse_failure_is_recorded(session):
    def broken():
        raise SourceError("not an HSDS file")

    with pytest.raises(SourceError):
        run(session, broken)
    assert session.scalar(select(ImportRun.status)) == "failed"


def test_an_empty_full_import_refuses_to_deactivate_everything(session):
    run(session, lambda: small_result(2))
    with pytest.raises(SourceError):
        run(session, lambda: small_result(0))
    assert count(session, Service, status="active") == 2


def test_problems_are_stored_on_the_run(session):
    def with_problem():
        result = small_result(1)
        result.reject("file.csv:9", "svc-9", "service without a name")
        result.read["service"] += 1
        return result

    run_row, _ = run(session, with_problem)
    assert run_row.rejected == 1
    assert json.loads(run_row.problems)[0]["where"] == "file.csv:9"


def test_an_import_lowering_numbers_under_claims_puts_the_holds_at_risk_through_the_one_rule(app, session):
    from directory.domain.access import Actor
    from directory.domain.audit import verify
    from directory.domain.referrals import ReferralRequest, create_referral
    from directory.models import AuditEvent, Notification, Referral
    from scrapers.records import CapacityRecord
    from tests.factories import make_participant, make_user

    def with_numbers(available, updated):
        def build():
            result = small_result(2)
            for service in result.services:
                service.capacity = CapacityRecord("bed", 5, available, 0, updated=updated)
            result.services[1].capacity = CapacityRecord(
                "bed", 3, 1, 0, updated=FIXED_NOW - timedelta(hours=1)
            )
            return result

        return build

    run(session, with_numbers(2, FIXED_NOW - timedelta(hours=1)))
    shelter = session.scalar(select(Service).where(Service.source_id == "svc-1"))
    # A provider confirms the imported numbers, so that a claim may hold them.
    shelter.capacity.confirmed_at = FIXED_NOW - timedelta(minutes=30)
    session.commit()
    cm = make_user(session, "case_manager")
    participant = make_participant(session, cm)
    claims = [
        create_referral(
            session,
            Actor.of(cm),
            shelter,
            participant,
            ReferralRequest("claim"),
            FIXED_NOW,
            app.config["SITE"],
        )
        for _ in range(2)
    ]
    session.commit()
    assert [c.state for c in claims] == ["held", "held"]
    events_before = count(session, AuditEvent)
    notices_before = count(session, Notification, kind="hold_at_risk")

    later = FIXED_NOW + timedelta(minutes=5)
    lowered = with_numbers(0, FIXED_NOW + timedelta(minutes=1))  # newer than the provider's confirmation
    run(session, lowered, now=later)
    session.expire_all()

    row = session.get(ServiceCapacity, shelter.capacity.id)
    assert (row.available, row.held_general) == (0, 2)  # the source's numbers are taken; holds stay counted
    assert [session.get(Referral, c.id).at_risk for c in claims] == [True, True]
    notices = session.scalars(select(Notification).where(Notification.kind == "hold_at_risk")).all()
    assert len(notices) - notices_before == 2 and {n.user_id for n in notices} == {cm.id}
    imported = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "capacity.import", AuditEvent.at == later)
    ).all()
    # Only svc-1's numbers changed: one event, by the import, with the holds it put at risk.
    assert [e.object_id for e in imported] == [str(shelter.id)]
    assert imported[0].actor_id is None and imported[0].payload["actor"] == "import:test"
    assert imported[0].payload["before"]["available"] == 2 and imported[0].payload["after"]["available"] == 0
    assert sorted(imported[0].payload["holds_at_risk"]) == sorted(c.id for c in claims)
    assert count(session, AuditEvent) == events_before + 1
    assert verify(session).ok

    # The same source again: nothing written, nothing appended, nobody told twice.
    state = snapshot(session)
    run(session, lowered, now=later + timedelta(minutes=5))
    assert snapshot(session) == state
    assert count(session, AuditEvent) == events_before + 1
    assert count(session, Notification, kind="hold_at_risk") == notices_before + 2
    assert verify(session).ok


def test_free_units_beyond_the_maximum_are_lowered_with_a_note(session):
    from scrapers.records import CapacityRecord

    def build():
        result = small_result(1)
        result.services[0].capacity = CapacityRecord("bed", 4, 9, 0, lead_funded_maximum=0)
        return result

    import_run, outcome = run(session, build)
    row = session.scalar(select(ServiceCapacity))
    assert (row.maximum, row.available) == (4, 4)
    notes = [p for p in json.loads(import_run.problems) if p.get("field") == "capacity"]
    assert len(notes) == 1 and notes[0]["action"] == "repaired" and "9 available" in notes[0]["problem"]


def test_every_new_capacity_row_of_an_import_is_one_audit_event_in_a_valid_chain(session):
    from directory.domain.audit import verify
    from directory.models import AuditEvent

    before = count(session, AuditEvent)
    run(session, lambda: small_result(3, {"unit": "bed", "maximum": 4, "available": 1, "waitlist": 0}))
    events = session.scalars(select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)).all()
    services = dict(session.execute(select(Service.id, Service.source_id)).all())
    assert [services[int(e.object_id)] for e in events] == ["svc-1", "svc-2", "svc-3"]
    assert all(e.action == "capacity.import" and e.payload["before"] is None for e in events)
    assert verify(session).ok
