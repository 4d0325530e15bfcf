"""One hold per need in the database: the participant's holds shown with every check, the explicit choice a
second hold at the same level of care needs (409 second_hold without it, nothing changed), at most two, and
the release of the other holds when a provider accepts (their providers told only "hold released")."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from directory.domain.access import Actor
from directory.domain.errors import Forbidden, ValidationError
from directory.domain.referrals import ReferralRequest, SecondHold, check, create_referral, transition
from directory.models import AuditEvent, Notification, Referral, ServiceCapacity
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_user

NOW = FIXED_NOW
SHELTER = ("housing.emergency_shelter",)
SUPPORTIVE = ("housing.permanent_supportive",)


def spare(session, name, terms=SHELTER, unit="bed", **capacity):
    values = {"unit_id": unit, "maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(NOW)}
    values.update(capacity)
    return make_service(session, name=name, terms=terms, capacity=values, **LOW_BARRIER)


@pytest.fixture
def world(session):
    cm_user = make_user(session, "case_manager")
    services = {
        "jackson": spare(session, "Jackson Street Shelter"),
        "pine": spare(session, "Pine Street Shelter"),
        "harbor": spare(session, "Harbor Light Shelter"),
        "yesler": spare(session, "Yesler Supportive Housing", terms=SUPPORTIVE),
        "waiting": spare(session, "Waiting Shelter", available=0, waitlist=3),
    }
    providers = {
        key: Actor.of(make_user(session, "provider", organization=service.organization))
        for key, service in services.items()
    }
    participant = make_participant(session, cm_user)
    return {"cm": Actor.of(cm_user), "p": participant, "s": services, "providers": providers}


def refer(session, app, world, key, action="claim", **kw):
    service = world["s"][key]
    return create_referral(
        session, world["cm"], service, world["p"], ReferralRequest(action, **kw), NOW, app.config["SITE"]
    )


def held_general(session, service):
    session.expire_all()
    return session.scalar(
        select(ServiceCapacity.held_general).where(ServiceCapacity.service_id == service.id)
    )


def test_every_check_shows_the_participants_holds_in_the_domain(app, session, world):
    first = refer(session, app, world, "jackson")
    waiting = refer(session, app, world, "waiting", "join_waitlist")
    other_domain = make_service(session, name="Food Bank", domain="food", capacity=None)
    result = check(session, world["cm"], world["s"]["pine"], world["p"], NOW, app.config["SITE"])
    assert [r.id for r in result.participant_holds] == [first.id, waiting.id]
    # The same level of care (emergency shelter) and a hold here would hold a unit: a choice is needed.
    assert [r.id for r in result.same_level_holds] == [first.id]
    assert any("already holds a unit at this level of care" in reason for reason in result.reasons)
    # Supportive housing is another level of care: its check lists the holds, asks nothing.
    later = check(session, world["cm"], world["s"]["yesler"], world["p"], NOW, app.config["SITE"])
    assert [r.id for r in later.participant_holds] == [first.id, waiting.id]
    assert later.same_level_holds == []
    # Another domain: nothing of housing shows.
    assert (
        check(session, world["cm"], other_domain, world["p"], NOW, app.config["SITE"]).participant_holds == []
    )


def test_a_second_hold_without_a_choice_is_refused_and_changes_nothing(app, session, world):
    refer(session, app, world, "jackson")
    session.commit()
    before = (session.scalar(select(func.count(Referral.id))), held_general(session, world["s"]["pine"]))
    with pytest.raises(SecondHold) as caught:
        refer(session, app, world, "pine")
    assert caught.value.code == "second_hold" and caught.value.status == 409
    assert [r.service.name for r in caught.value.check.same_level_holds] == ["Jackson Street Shelter"]
    session.rollback()
    assert (
        session.scalar(select(func.count(Referral.id))),
        held_general(session, world["s"]["pine"]),
    ) == before


def test_releasing_the_other_hold_frees_its_unit_and_tells_its_provider_only_that(app, session, world):
    first = refer(session, app, world, "jackson")
    assert held_general(session, world["s"]["jackson"]) == 1
    second = refer(session, app, world, "pine", release_referral_ids=(first.id,))
    session.expire_all()
    first = session.get(Referral, first.id)
    assert (first.state, first.closed_reason) == ("cancelled", "released")
    assert (held_general(session, world["s"]["jackson"]), held_general(session, world["s"]["pine"])) == (0, 1)
    assert session.get(Referral, second.id).state == "held"
    jackson_provider = world["providers"]["jackson"].id
    notices = session.scalars(select(Notification).where(Notification.user_id == jackson_provider)).all()
    released = [n for n in notices if n.kind == "referral_released"]
    assert len(released) == 1
    text = released[0].subject + released[0].body
    assert "Hold released" in text and "Pine" not in text and f"referral {second.id}" not in text
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "referral.release"))
    assert event.payload["reason"] == "released" and event.payload["for_referral_id"] == second.id


def test_keeping_both_needs_a_reason_and_a_choosing_hold_lasts_an_hour(app, session, world):
    refer(session, app, world, "jackson")
    second = refer(session, app, world, "pine", keep_both_reason="participant_choosing")
    assert second.keep_both_reason == "participant_choosing"
    assert second.expires_at == NOW + timedelta(hours=1)
    # A third hold at the same level: at most two, even with a reason.
    with pytest.raises(SecondHold) as caught:
        refer(session, app, world, "harbor", keep_both_reason="next_step")
    assert "at most 2" in caught.value.message
    session.rollback()


def test_a_kept_hold_for_eligibility_keeps_its_usual_length(app, session, world):
    refer(session, app, world, "jackson")
    second = refer(session, app, world, "pine", keep_both_reason="eligibility_uncertain")
    assert second.expires_at == NOW + timedelta(hours=app.config["SITE"].hold_hours["bed"])


def test_other_levels_waitlists_and_requests_need_no_choice(app, session, world):
    refer(session, app, world, "jackson")
    other_level = refer(session, app, world, "yesler")
    assert other_level.state == "held" and other_level.keep_both_reason is None
    place = refer(session, app, world, "waiting", "join_waitlist")
    assert place.state == "waitlisted"


def test_release_ids_must_be_the_participants_holds_at_the_level(app, session, world):
    other_level = refer(session, app, world, "yesler")
    with pytest.raises(ValidationError) as caught:
        refer(session, app, world, "pine", release_referral_ids=(other_level.id,))
    assert caught.value.field == "release_referral_ids"
    session.rollback()


def test_accepting_releases_the_other_held_units_at_the_same_level_only(app, session, world):
    jackson = refer(session, app, world, "jackson")
    pine = refer(session, app, world, "pine", keep_both_reason="next_step")
    supportive = refer(session, app, world, "yesler")
    waiting = refer(session, app, world, "waiting", "join_waitlist")
    transition(session, world["providers"]["pine"], pine, "accept", NOW + timedelta(minutes=5))
    session.expire_all()
    states = {r.service.name: (r.state, r.closed_reason) for r in session.scalars(select(Referral))}
    assert states == {
        "Jackson Street Shelter": ("cancelled", "placed_elsewhere"),
        "Pine Street Shelter": ("accepted", None),
        "Yesler Supportive Housing": ("held", None),  # another level of care: never released automatically
        "Waiting Shelter": ("waitlisted", None),  # a waitlist place: never released automatically
    }
    assert held_general(session, world["s"]["jackson"]) == 0
    assert held_general(session, world["s"]["yesler"]) == 1
    # Jackson Street's provider learns only that the hold was released, never where the person went.
    notices = session.scalars(
        select(Notification).where(Notification.user_id == world["providers"]["jackson"].id)
    ).all()
    texts = " ".join(n.subject + " " + n.body + " " + (n.link or "") for n in notices)
    assert "Hold released" in texts
    for leak in (
        "Pine",
        f"referral {pine.id}",
        f"/referrals/{pine.id}",
        world["s"]["pine"].organization.name,
    ):
        assert leak not in texts
    # The released referral's history names no actor (not the accepting provider).
    released = session.get(Referral, jackson.id)
    assert released.events[-1].actor_id is None and released.events[-1].to_state == "cancelled"
    # The case manager is told why.
    cm_notices = session.scalars(select(Notification).where(Notification.user_id == world["cm"].id)).all()
    assert any("Pine Street Shelter was accepted" in n.body and "Jackson" in n.body for n in cm_notices)
    assert {supportive.id, waiting.id} <= {r.id for r in session.scalars(select(Referral))}


def test_an_outcome_that_must_not_come_back_releases_nothing(app, session, world):
    jackson = refer(session, app, world, "jackson")
    pine = refer(session, app, world, "pine", keep_both_reason="next_step")
    pine.outcome_shared = False  # a Part 2 program without a release: releasing would tell the outcome
    session.flush()
    transition(session, world["providers"]["pine"], pine, "accept", NOW)
    session.expire_all()
    assert session.get(Referral, jackson.id).state == "held"


def test_an_alternative_the_participant_holds_is_marked_theirs(app, session, world):
    jackson = refer(session, app, world, "jackson")
    result = check(session, world["cm"], world["s"]["waiting"], world["p"], NOW, app.config["SITE"])
    by_name = {a.service.name: a for a in result.alternatives}
    assert by_name["Jackson Street Shelter"].theirs.id == jackson.id
    assert by_name["Pine Street Shelter"].theirs is None
    assert any("marked as theirs" in reason for reason in result.reasons)


def test_only_someone_who_may_cancel_the_other_hold_releases_it(app, session, world):
    first = refer(session, app, world, "jackson")
    stranger = Actor.of(make_user(session, "case_manager"))
    with pytest.raises(Forbidden):
        create_referral(
            session,
            stranger,
            world["s"]["pine"],
            world["p"],
            ReferralRequest("claim", release_referral_ids=(first.id,)),
            NOW,
            app.config["SITE"],
        )
    session.rollback()
