"""Reports from the field and decline reasons in the database: a "full" report against free numbers makes the
service unverified (classify and the search's SQL) until the provider confirms or corrects; the provider is
asked in one tap, the project managers hear of LEAD-funded units; a decline for no capacity after a check
that said free counts the same way; every decline carries its reason to the case manager and the audit."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from directory.domain import capacity as cap
from directory.domain import field_reports as fr
from directory.domain.access import Actor
from directory.domain.capacity_updates import confirm_capacity, update_capacity
from directory.domain.errors import Forbidden, ValidationError
from directory.domain.referrals import ReferralRequest, create_referral, parse_decline, transition
from directory.models import AuditEvent, CapacityReport, ConfirmLink, Notification, ServiceCapacity
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_user

NOW = FIXED_NOW


@pytest.fixture
def world(session):
    spare = make_service(
        session,
        name="Spare Beds",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(NOW)},
        **LOW_BARRIER,
    )
    lead = make_service(
        session,
        name="LEAD Village",
        capacity={
            "maximum": 5,
            "available": 0,
            "waitlist": 2,
            "lead_funded_maximum": 3,
            "lead_funded_available": 1,
            "confirmed_at": fresh(NOW),
        },
        **LOW_BARRIER,
    )
    full = make_service(
        session,
        name="Full Beds",
        capacity={"maximum": 5, "available": 0, "waitlist": 0, "confirmed_at": fresh(NOW)},
    )
    cm = make_user(session, "case_manager")
    return {
        "spare": spare,
        "lead": lead,
        "full": full,
        "cm": Actor.of(cm),
        "peer": Actor.of(make_user(session, "peer_outreach")),
        "provider": Actor.of(make_user(session, "provider", organization=spare.organization)),
        "lead_provider": Actor.of(make_user(session, "provider", organization=lead.organization)),
        "pm": make_user(session, "project_manager"),
        "participant": make_participant(session, cm),
    }


def status(app, session, service, at=NOW):
    """The classification by the rule and by the search's SQL (they must agree)."""
    session.expire_all()
    row = session.get(ServiceCapacity, service.capacity.id)
    hours = app.config["SITE"].freshness_hours
    by_rule = cap.classify(cap.Numbers.of(row), service.coordinated_entry, at, hours)
    sql = cap.status_sql(ServiceCapacity.__table__, service.__class__.coordinated_entry, at, hours)
    by_sql = session.scalar(
        select(sql)
        .select_from(service.__class__)
        .outerjoin(ServiceCapacity, ServiceCapacity.service_id == service.__class__.id)
        .where(service.__class__.id == service.id)
    )
    assert by_rule == by_sql
    return by_rule


def report(app, session, actor, service, at=NOW, **body):
    return fr.file_report(session, actor, service, fr.parse(body), at, app.config["SITE"])


def notices(session, user_id):
    return session.scalars(select(Notification).where(Notification.user_id == user_id)).all()


def test_a_full_report_against_free_numbers_makes_them_unverified_until_confirmed(app, session, world):
    spare = world["spare"]
    assert status(app, session, spare) == cap.SPARE_CAPACITY
    made = report(app, session, world["cm"], spare, observed="full", note="Front desk said no beds tonight")
    assert made.said_free and made.reporter_role == "case_manager"
    assert status(app, session, spare) == cap.UNVERIFIED
    # The provider is asked to confirm or correct, with a one-tap link signed into the email.
    asked = [n for n in notices(session, world["provider"].id) if n.kind == "capacity_report"]
    assert len(asked) == 1 and "Confirm" in asked[0].body and asked[0].confirm_link_id is not None
    assert session.get(ConfirmLink, asked[0].confirm_link_id).service_id == spare.id
    # No LEAD-funded units here: the project managers are not told.
    assert notices(session, world["pm"].id) == []
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "capacity.report"))
    assert event.payload["observed"] == "full" and event.payload["unverified"] is True
    assert "Front desk" not in str(event.payload) and event.payload["note_sha256"]
    # "Still correct" answers it: the numbers are the provider's again.
    confirm_capacity(session, world["provider"], spare.id, "web", NOW + timedelta(minutes=3))
    assert status(app, session, spare, NOW + timedelta(minutes=3)) == cap.SPARE_CAPACITY
    session.refresh(made)
    assert (made.resolution, made.resolved_by) == ("confirmed", world["provider"].id)


def test_a_correction_answers_the_report(app, session, world):
    spare = world["spare"]
    made = report(app, session, world["peer"], spare, observed="fewer_free")
    assert status(app, session, spare) == cap.UNVERIFIED
    update_capacity(session, world["provider"], spare.id, {"available": 0}, "web", NOW + timedelta(minutes=1))
    assert status(app, session, spare, NOW + timedelta(minutes=1)) == cap.FULL
    session.refresh(made)
    assert made.resolution == "corrected"


def test_a_report_lapses_after_its_window_when_nobody_answers(app, session, world):
    spare = world["spare"]
    report(app, session, world["cm"], spare, observed="full")
    later = NOW + timedelta(hours=app.config["SITE"].freshness_hours["bed"], seconds=1)
    assert fr.open_reports(session, [spare.id], later, app.config["SITE"]) == {}
    assert fr.open_reports(session, [spare.id], NOW, app.config["SITE"])[spare.id][0].observed == "full"


def test_reports_that_do_not_contradict_free_numbers_leave_the_status(app, session, world):
    made = report(app, session, world["cm"], world["full"], observed="full")
    assert not made.said_free
    assert status(app, session, world["full"]) == cap.FULL
    report(app, session, world["cm"], world["spare"], observed="more_free")
    report(app, session, world["cm"], world["spare"], observed="wrong_phone", correct_phone="206-555-0100")
    assert status(app, session, world["spare"]) == cap.SPARE_CAPACITY


def test_reports_on_lead_funded_units_reach_the_project_manager_at_once(app, session, world):
    assert status(app, session, world["lead"]) == cap.LEAD_FUNDED
    report(app, session, world["cm"], world["lead"], observed="full")
    assert status(app, session, world["lead"]) == cap.UNVERIFIED
    told = notices(session, world["pm"].id)
    assert len(told) == 1 and "LEAD Village" in told[0].subject
    # Who reported is not said: the role only.
    assert "case manager" in told[0].body and "@" not in told[0].body


def test_a_turn_away_names_an_attribute_the_listing_claims(app, session, world):
    made = report(
        app, session, world["cm"], world["spare"], observed="turned_away", attribute="accepts_active_use"
    )
    assert made.attribute == "accepts_active_use"
    with pytest.raises(ValidationError) as caught:
        report(
            app, session, world["cm"], world["full"], observed="turned_away", attribute="accepts_active_use"
        )
    assert caught.value.field == "attribute"


def test_only_case_managers_and_peers_report(app, session, world):
    with pytest.raises(Forbidden):
        report(app, session, world["provider"], world["spare"], observed="full")


def test_a_referral_named_must_be_the_reporters_and_to_this_service(app, session, world):
    referral = create_referral(
        session,
        world["cm"],
        world["spare"],
        world["participant"],
        ReferralRequest("claim"),
        NOW,
        app.config["SITE"],
    )
    made = report(app, session, world["cm"], world["spare"], observed="full", referral_id=referral.id)
    assert made.referral_id == referral.id
    with pytest.raises(ValidationError):
        report(app, session, world["peer"], world["spare"], observed="full", referral_id=referral.id)
    with pytest.raises(ValidationError):
        report(app, session, world["cm"], world["full"], observed="full", referral_id=referral.id)


def test_a_decline_for_no_capacity_after_a_free_check_counts_as_a_full_report(app, session, world):
    spare = world["spare"]
    referral = create_referral(
        session, world["cm"], spare, world["participant"], ReferralRequest("claim"), NOW, app.config["SITE"]
    )
    later = NOW + timedelta(minutes=20)
    transition(
        session, world["provider"], referral, "decline", later, decline=parse_decline(spare, "no_capacity")
    )
    assert (referral.state, referral.closed_reason) == ("declined", "no_capacity")
    assert status(app, session, spare, later) == cap.UNVERIFIED
    made = session.scalar(select(CapacityReport).where(CapacityReport.source == "decline"))
    assert (made.referral_id, made.observed, made.said_free) == (referral.id, "full", True)
    # The case manager reads the reason, not just "was declined".
    told = [n for n in notices(session, world["cm"].id) if n.kind == "referral_declined"]
    assert told[0].body.endswith("was declined: no capacity.")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "referral.decline"))
    assert event.payload["decline_reason"] == "no_capacity"


def test_other_decline_reasons_leave_the_numbers_verified(app, session, world):
    spare = world["spare"]
    referral = create_referral(
        session, world["cm"], spare, world["participant"], ReferralRequest("claim"), NOW, app.config["SITE"]
    )
    decline = parse_decline(spare, "not_eligible", rule="Adults 25 and over")
    transition(session, world["provider"], referral, "decline", NOW, decline=decline)
    assert status(app, session, spare) == cap.SPARE_CAPACITY
    assert referral.plain_closed_rule == "Adults 25 and over"
    assert referral.closed_rule != "Adults 25 and over"  # sealed with the participant's key, like notes
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "referral.decline"))
    assert event.payload["decline_reason"] == "not_eligible" and "Adults" not in str(event.payload)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((None,), "reason"),
        (("full",), "reason"),
        (("not_eligible",), "rule"),
        (("not_eligible", "   "), "rule"),
        (("not_eligible", "x" * 301), "rule"),
        (("not_eligible", "born 04/02/1980"), "rule"),
        (("turned_away",), "attribute"),
        (("turned_away", None, "pets_allowed"), "attribute"),  # the listing does not say pets are allowed
    ],
)
def test_bad_decline_reasons_are_refused(app, session, world, args, field):
    with pytest.raises(ValidationError) as caught:
        parse_decline(world["spare"], *args)
    assert caught.value.field == field


def test_a_decline_without_a_reason_changes_nothing(app, session, world):
    referral = create_referral(
        session,
        world["cm"],
        world["spare"],
        world["participant"],
        ReferralRequest("claim"),
        NOW,
        app.config["SITE"],
    )
    with pytest.raises(ValidationError):
        transition(session, world["provider"], referral, "decline", NOW)
    assert referral.state == "held"
