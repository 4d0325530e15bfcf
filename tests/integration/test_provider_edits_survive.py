"""Providers' own edits survive imports: a provider's in-app edit of hours, phone, eligibility or alert is
kept on re-import unless the source changed that field after the edit; then the source's value is taken and
the conflict (both values) is listed for the provider, who is told."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from directory.domain.access import Actor
from directory.domain.errors import Forbidden, ValidationError
from directory.domain.imports import run_import
from directory.domain.provider_edits import conflicts, edit_details, keep_feed_value, parse_details
from directory.models import AuditEvent, Notification, Organization, Service, ServiceFieldEdit
from scrapers.records import PhoneRecord
from tests.conftest import FIXED_NOW
from tests.factories import make_user
from tests.scrapers.helpers import small_result

pytestmark = pytest.mark.db

FEED_PHONE, PROVIDER_PHONE, NEW_FEED_PHONE = "206-555-0100", "206-555-0142", "206-555-0199"


def feed(description="Beds for the night", phone=FEED_PHONE, eligibility="Adults 18+", alert=None):
    """The feed's two services; svc-1's fields as given."""
    result = small_result(2)
    first = result.services[0]
    first.description, first.eligibility_description, first.alert = description, eligibility, alert
    first.phones = (PhoneRecord(phone),)
    return result


def service(session, source_id="svc-1") -> Service:
    session.expire_all()
    return session.scalar(select(Service).where(Service.source == "feed", Service.source_id == source_id))


def phones(session) -> list[str]:
    return [p.number for p in service(session).phones]


@pytest.fixture
def world(session):
    run_import(session, "feed", "memory", feed, FIXED_NOW)
    org = session.scalar(select(Organization).where(Organization.source == "feed"))
    provider = make_user(session, "provider", organization=org)
    session.commit()
    return org, provider


def edit(session, provider, form, at=FIXED_NOW + timedelta(hours=1)):
    changed = edit_details(session, Actor.of(provider), service(session).id, parse_details(form), at)
    session.commit()
    return changed


def reimport(session, result, at=FIXED_NOW + timedelta(days=1)):
    run, outcome = run_import(session, "feed", "memory", lambda: result, at)
    session.commit()
    return outcome


def test_edits_are_kept_when_the_source_did_not_change_those_fields(session, world):
    _, provider = world
    changed = edit(
        session,
        provider,
        {"phone": "(206) 555-0142", "eligibility": "Adults 18+, couples welcome", "hours": "Mon-Fri 9am-5pm"},
    )
    assert sorted(changed) == ["eligibility", "hours", "phone"]
    # The feed changes the description only: the service is rewritten, the provider's three fields stay.
    outcome = reimport(session, feed(description="Beds and showers"))
    saved = service(session)
    assert saved.description == "Beds and showers"
    assert phones(session) == [PROVIDER_PHONE]
    assert saved.eligibility_description == "Adults 18+, couples welcome"
    assert sorted((s.byday, s.opens_at, s.closes_at) for s in saved.schedules) == [
        (day, time(9), time(17)) for day in sorted(("MO", "TU", "WE", "TH", "FR"))
    ]
    assert outcome.kept_edits == 3 and outcome.replaced_edits == 0
    assert conflicts(session, saved.organization_id) == []


def test_a_field_the_source_changed_after_the_edit_takes_the_source_value_and_is_listed(session, world):
    org, provider = world
    other_org_provider = make_user(session, "provider", organization=Organization(name="Other Org"))
    edit(session, provider, {"phone": "206-555-0142", "alert": "Closed for repairs on Friday"})
    outcome = reimport(session, feed(phone=NEW_FEED_PHONE))
    saved = service(session)
    assert phones(session) == [NEW_FEED_PHONE]  # the source changed the phone since: its value wins
    assert saved.alert == "Closed for repairs on Friday"  # the alert it did not change stays
    assert outcome.replaced_edits == 1 and outcome.kept_edits == 1
    [conflict] = conflicts(session, org.id)
    assert (conflict.field, conflict.provider_value, conflict.source_value) == (
        "phone",
        PROVIDER_PHONE,
        NEW_FEED_PHONE,
    )
    assert conflict.replaced_by == "feed" and conflict.replaced_at == FIXED_NOW + timedelta(days=1)
    notices = session.scalars(select(Notification).where(Notification.kind == "import_replaced_edit")).all()
    assert [n.user_id for n in notices] == [provider.id]  # not the other organization's provider
    assert other_org_provider.id not in [n.user_id for n in notices]
    noted = [p for p in outcome.result.problems if p.kind == "provider_edit"]
    assert [(p.record, p.field, p.action) for p in noted] == [("svc-1", "phone", "flagged")]
    # The next import with the same phone: the edit no longer protects it, nothing new is listed.
    reimport(session, feed(phone=NEW_FEED_PHONE, description="again"), FIXED_NOW + timedelta(days=2))
    assert len(conflicts(session, org.id)) == 1 and phones(session) == [NEW_FEED_PHONE]


def test_keeping_the_feeds_value_closes_the_conflict_and_editing_again_protects_anew(session, world):
    org, provider = world
    edit(session, provider, {"phone": "206-555-0142"})
    reimport(session, feed(phone=NEW_FEED_PHONE))
    stranger = make_user(session, "provider", organization=Organization(name="Stranger Org"))
    with pytest.raises(Forbidden):
        keep_feed_value(session, Actor.of(stranger), service(session).id, "phone", FIXED_NOW)
    session.rollback()
    keep_feed_value(session, Actor.of(provider), service(session).id, "phone", FIXED_NOW + timedelta(days=1))
    session.commit()
    assert conflicts(session, org.id) == []
    assert session.scalar(select(func.count()).select_from(ServiceFieldEdit)) == 0
    # Edited again after the conflict: the value it replaces (the feed's new one) is what "unchanged" means.
    edit(session, provider, {"phone": "206-555-0142"}, FIXED_NOW + timedelta(days=2))
    reimport(session, feed(phone=NEW_FEED_PHONE, description="later"), FIXED_NOW + timedelta(days=3))
    assert phones(session) == [PROVIDER_PHONE]


def test_an_unchanged_reimport_writes_nothing_and_keeps_the_edits(session, world):
    _, provider = world
    edit(session, provider, {"alert": "Use the side door"})
    outcome = reimport(session, feed())
    assert outcome.changed["service"] == 0 and service(session).alert == "Use the side door"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"phone": "555-01"}, "10-digit US number"),
        ({"alert": "x" * 2001}, "at most 2000 characters"),
        ({"hours": "y" * 1001}, "at most 1000 characters"),
        ({"name": "New name"}, "unknown field 'name'"),
        ({}, "give at least one of"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(session, world, form, message):
    with pytest.raises(ValidationError, match=message):
        parse_details(form)


def test_only_the_providers_own_staff_can_edit_and_each_edit_is_audited(session, world):
    _, provider = world
    stranger = make_user(session, "provider", organization=Organization(name="Stranger Org"))
    case_manager = make_user(session, "case_manager")
    session.commit()
    for user in (stranger, case_manager):
        with pytest.raises(Forbidden):
            edit_details(
                session, Actor.of(user), service(session).id, parse_details({"alert": "x"}), FIXED_NOW
            )
        session.rollback()
    assert service(session).alert is None
    edit(
        session, provider, {"alert": "Use the side door", "eligibility": "Adults 18+"}
    )  # eligibility unchanged
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "service.details"))
    assert event.actor_id == provider.id
    assert event.payload == {"alert": {"before": "", "after": "Use the side door"}}
    assert session.scalar(select(func.count()).select_from(ServiceFieldEdit)) == 1
