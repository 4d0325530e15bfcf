"""Consent: releases of information, Part 2 programs (outcome withheld without a current release),
confidential referrals (one-time reference), and legal holds against purge."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from directory.domain import audit, consent
from directory.domain.retention import purge
from directory.models import AuditEvent, Participant, Referral, ReleaseOfInformation
from tests.conftest import FIXED_NOW
from tests.factories import make_participant, make_service, make_user, sign_in

pytestmark = pytest.mark.db  # dates, the unique reference and the purge run on PostgreSQL too

TODAY = FIXED_NOW.date()


@pytest.fixture
def world(session, client):
    """A Part 2 treatment program, an ordinary food bank, a confidential shelter, and their people."""
    part2 = make_service(
        session, name="Harbor Recovery Clinic", domain="substance_use_treatment", part2_program=True
    )
    pantry = make_service(session, name="Corner Pantry", domain="food")
    shelter = make_service(session, name="Safe Harbor House", confidential=True, lat=None, lon=None)
    cm = make_user(session, "case_manager", display_name="Desk A")
    other_cm = make_user(session, "case_manager")
    admin = make_user(session, "admin")
    pm = make_user(session, "project_manager")
    clinic_staff = make_user(session, "provider", organization=part2.organization)
    shelter_staff = make_user(session, "provider", organization=shelter.organization)
    participant = make_participant(session, cm)
    session.commit()
    sign_in(client, cm)
    return {
        "part2": part2.id,
        "part2_org": part2.organization_id,
        "pantry": pantry.id,
        "pantry_org": pantry.organization_id,
        "shelter": shelter.id,
        "cm": cm.id,
        "other_cm": other_cm.id,
        "admin": admin.id,
        "pm": pm.id,
        "clinic": clinic_staff.id,
        "shelter_staff": shelter_staff.id,
        "code": participant.code,
        "participant": participant.id,
    }


def _record(client, world, org, signed, expires, purpose="referral_outcome"):
    return client.post(
        f"/participants/{world['code']}/releases",
        data={"organization_id": org, "purpose": purpose, "signed_on": signed, "expires_on": expires},
    )


def _refer(client, world, service_id) -> int:
    answer = client.post(
        "/referrals",
        data={"service_id": service_id, "participant": world["code"], "action": "request"},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return int(answer.headers["Location"].rsplit("/", 1)[1])


def _check(client, world, service_id) -> str:
    return client.get(f"/referrals/check?service_id={service_id}&participant={world['code']}").get_data(
        as_text=True
    )


def _actions(session, action):
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


# --- The four paths of a Part 2 program ---------------------------------------------------------------


def test_absent_release_says_so_and_offers_to_record_one(client, world):
    html = _check(client, world, world["part2"])
    assert "there is no release on file for this program" in html
    assert "Record a signed release" in html
    assert f'name="organization_id" value="{world["part2_org"]}"' in html
    # An ordinary program says nothing about releases.
    plain = _check(client, world, world["pantry"])
    assert "Part 2" not in plain and "Record a signed release" not in plain


def test_current_release_lets_the_outcome_come_back(client, session, world):
    answer = _record(client, world, world["part2_org"], "2026-11-01", "2027-11-01")
    assert answer.status_code == 302
    html = _check(client, world, world["part2"])
    assert "a current release covers it" in html and "Record a signed release" not in html
    referral_id = _refer(client, world, world["part2"])
    assert session.get(Referral, referral_id).outcome_shared is True
    uses = _actions(session, "release.use")
    assert [(u.payload["participant_id"], u.payload["service_id"]) for u in uses] == [
        (world["participant"], world["part2"])
    ]
    sign_in(client, world["clinic"])
    assert client.post(f"/provider/referrals/{referral_id}/accept").status_code == 302
    sign_in(client, world["cm"])
    page = client.get(f"/referrals/{referral_id}").get_data(as_text=True)
    assert "<strong>Accepted</strong>" in page and consent.NOT_SHARED not in page
    assert "accepted" in client.get("/notifications").get_data(as_text=True)  # the control for the test below


@pytest.mark.parametrize(
    ("signed", "expires", "revoke", "words"),
    [
        ("2025-01-01", "2025-12-31", False, "the release on file has expired"),
        ("2026-11-01", "2027-11-01", True, "the release on file was revoked"),
    ],
)
def test_expired_or_revoked_release_withholds_the_outcome(
    client, session, world, signed, expires, revoke, words
):
    assert _record(client, world, world["part2_org"], signed, expires).status_code == 302
    release = session.scalars(select(ReleaseOfInformation)).one()
    if revoke:
        answer = client.post(f"/participants/{world['code']}/releases/{release.id}/revoke")
        assert answer.status_code == 302
        session.expire_all()
        assert session.get(ReleaseOfInformation, release.id).revoked_by == world["cm"]
        assert len(_actions(session, "release.revoke")) == 1
    html = _check(client, world, world["part2"])
    assert words in html and "Record a signed release" in html
    referral_id = _refer(client, world, world["part2"])  # the referral may still be made
    assert session.get(Referral, referral_id).outcome_shared is False
    assert _actions(session, "release.use") == []
    sign_in(client, world["clinic"])
    note = "Intake booked next week"
    assert client.post(f"/provider/referrals/{referral_id}/accept", data={"note": note}).status_code == 302
    inbox = client.get("/provider/referrals").get_data(as_text=True)
    assert "<strong>Accepted</strong>" in inbox  # the provider keeps its own answer
    for viewer in ("cm", "admin", "pm"):
        sign_in(client, world[viewer])
        page = client.get(f"/referrals/{referral_id}").get_data(as_text=True)
        assert consent.NOT_SHARED in page, viewer
        assert "accepted" not in page and note not in page, viewer
        body = client.get(f"/api/v1/referrals/{referral_id}").get_json()
        assert body["state"] == consent.NOT_SHARED and body["closed_at"] is None, viewer
        assert all(h["to"] != "accepted" and h["note"] is None for h in body["history"]), viewer
    sign_in(client, world["cm"])
    plan = client.get(f"/participants/{world['code']}").get_data(as_text=True)
    assert consent.NOT_SHARED in plan and "accepted" not in plan
    # Nor on the service page's referral timeline (which case managers read before they refer).
    timeline = client.get(f"/services/{world['part2']}").get_data(as_text=True)
    assert 'class="service-referrals"' in timeline and consent.NOT_SHARED in timeline
    assert "accepted" not in timeline
    # No notice of the answer reached the case manager either.
    notices = client.get("/notifications").get_data(as_text=True)
    assert "accepted" not in notices
    # Nor the project manager's outcome counts: the acceptance is counted as "not shared", not accepted.
    sign_in(client, world["pm"])
    audit = client.get("/pm").get_data(as_text=True)
    outcomes = re.search(r"<caption>Outcomes</caption>.*?</table>", audit, re.S).group(0)
    cells = dict(re.findall(r'<th scope="row">([^<]+)</th><td>(\d+)</td>', outcomes))
    assert cells["Accepted"] == "0"
    assert cells["Outcome not shared (no release on file, or confidential)"] == "1"


def test_a_release_for_another_organization_does_not_cover(client, world):
    assert _record(client, world, world["pantry_org"], "2026-11-01", "2027-11-01").status_code == 302
    assert "there is no release on file for this program" in _check(client, world, world["part2"])


def test_recording_a_release_from_the_check_returns_to_the_check(client, session, world):
    answer = client.post(
        f"/participants/{world['code']}/releases",
        data={
            "organization_id": world["part2_org"],
            "purpose": "referral_outcome",
            "signed_on": "2026-11-20",
            "expires_on": "2027-05-20",
            "next_service": world["part2"],
        },
    )
    assert answer.status_code == 302 and f"service_id={world['part2']}" in answer.headers["Location"]
    assert "a current release covers it" in _check(client, world, world["part2"])
    recorded = _actions(session, "release.record")
    assert len(recorded) == 1 and recorded[0].actor_id == world["cm"]
    assert recorded[0].payload["organization_id"] == world["part2_org"]


@pytest.mark.parametrize(
    "form",
    [
        {"purpose": "referral_outcome", "signed_on": "2026-11-01", "expires_on": "2026-10-01"},  # before
        {"purpose": "referral_outcome", "signed_on": "2026-12-30", "expires_on": "2027-10-01"},  # future
        {"purpose": "marketing", "signed_on": "2026-11-01", "expires_on": "2027-10-01"},
        {"purpose": "referral_outcome", "signed_on": "yesterday", "expires_on": "2027-10-01"},
        {"purpose": "referral_outcome", "signed_on": "2026-11-01", "expires_on": "2036-10-01"},
        {"purpose": "referral_outcome", "signed_on": "2026-11-01"},
    ],
)
def test_bad_releases_are_refused_and_nothing_is_stored(client, session, world, form):
    answer = client.post(
        f"/participants/{world['code']}/releases", data={"organization_id": world["part2_org"], **form}
    )
    assert answer.status_code == 400
    assert session.scalars(select(ReleaseOfInformation)).all() == []
    assert _actions(session, "release.record") == []


def test_only_the_own_case_manager_or_an_admin_records_and_sees_releases(client, session, world):
    sign_in(client, world["other_cm"])
    assert _record(client, world, world["part2_org"], "2026-11-01", "2027-11-01").status_code == 403
    assert session.scalars(select(ReleaseOfInformation)).all() == []
    sign_in(client, world["admin"])
    assert _record(client, world, world["part2_org"], "2026-11-01", "2027-11-01").status_code == 302
    release = session.scalars(select(ReleaseOfInformation)).one()
    sign_in(client, world["other_cm"])
    revoke = client.post(f"/participants/{world['code']}/releases/{release.id}/revoke")
    assert revoke.status_code == 403
    for role in ("pm", "clinic"):
        sign_in(client, world[role])
        assert client.get(f"/participants/{world['code']}").status_code in (403, 404)
    sign_in(client, world["cm"])
    plan = client.get(f"/participants/{world['code']}").get_data(as_text=True)
    assert 'id="releases"' in plan and "<strong>current</strong>" in plan


def test_release_states_by_day(session, world):
    release = ReleaseOfInformation(
        participant_id=world["participant"],
        organization_id=world["part2_org"],
        purpose="referral_outcome",
        signed_on=TODAY - timedelta(days=10),
        expires_on=TODAY,
    )
    assert consent.state_of(release, TODAY) == consent.CURRENT  # the expiry day itself still counts
    assert consent.state_of(release, TODAY + timedelta(days=1)) == consent.EXPIRED
    assert consent.state_of(release, TODAY - timedelta(days=11)) == consent.EXPIRED  # not yet signed
    release.revoked_at = FIXED_NOW
    assert consent.state_of(release, TODAY) == consent.REVOKED


# --- The redisclosure notice ----------------------------------------------------------------------------


def test_part2_referrals_carry_the_redisclosure_notice(client, world):
    part2_referral = _refer(client, world, world["part2"])
    pantry_referral = _refer(client, world, world["pantry"])
    marker = "42 CFR part 2). These rules prohibit you"
    assert marker in client.get(f"/referrals/{part2_referral}").get_data(as_text=True)
    assert marker not in client.get(f"/referrals/{pantry_referral}").get_data(as_text=True)
    assert (
        client.get(f"/api/v1/referrals/{part2_referral}")
        .get_json()["redisclosure_notice"]
        .startswith("This record which has been disclosed to you")
    )
    assert "redisclosure_notice" not in client.get(f"/api/v1/referrals/{pantry_referral}").get_json()


# --- Confidential (domestic-violence) referrals ------------------------------------------------------


def test_confidential_referral_shows_the_provider_only_a_reference(client, session, world):
    referral_id = _refer(client, world, world["shelter"])
    reference = session.get(Referral, referral_id).reference
    assert reference and re.fullmatch(r"C-[2-9A-Z]{8}", reference)
    assert world["code"] not in reference
    ordinary = _refer(client, world, world["pantry"])
    assert session.get(Referral, ordinary).reference is None
    sign_in(client, world["shelter_staff"])
    for url in ("/provider/referrals", f"/provider/referrals/{referral_id}", f"/referrals/{referral_id}"):
        html = client.get(url).get_data(as_text=True)
        assert world["code"] not in html, url
        assert reference in html, url
    body = client.get(f"/api/v1/referrals/{referral_id}").get_json()
    assert body["participant_code"] == reference
    assert world["code"] not in str(body)
    assert client.post(f"/provider/referrals/{referral_id}/accept").status_code == 302
    # Only the referring case manager sees the outcome.
    sign_in(client, world["cm"])
    assert "<strong>Accepted</strong>" in client.get(f"/referrals/{referral_id}").get_data(as_text=True)
    for viewer in ("pm", "admin"):
        sign_in(client, world[viewer])
        page = client.get(f"/referrals/{referral_id}").get_data(as_text=True)
        assert consent.CONFIDENTIAL_OUTCOME in page and "accepted" not in page, viewer


# --- Legal holds ---------------------------------------------------------------------------------------


def test_legal_hold_blocks_purge_until_released(app, client, session, world):
    held = session.get(Participant, world["participant"])
    held.last_activity_at = FIXED_NOW - timedelta(days=2000)
    idle = make_participant(session, session.get(type(held.case_manager), world["cm"]))
    idle.last_activity_at = FIXED_NOW - timedelta(days=2000)
    session.commit()
    idle_id = idle.id
    sign_in(client, world["cm"])
    assert client.post(f"/participants/{world['code']}/legal-hold", data={"hold": "place"}).status_code == 403
    sign_in(client, world["admin"])
    assert client.post(f"/participants/{world['code']}/legal-hold", data={"hold": "place"}).status_code == 302
    assert client.post(f"/participants/{world['code']}/legal-hold", data={"hold": "place"}).status_code == 409
    assert "Under a legal hold" in client.get(f"/participants/{world['code']}").get_data(as_text=True)
    counts = purge(session, FIXED_NOW - timedelta(days=1095), FIXED_NOW)
    session.commit()
    assert counts == {"participants": 1, "referrals_scrubbed": 0, "kept_under_legal_hold": 1}
    assert session.get(Participant, world["participant"]) is not None
    assert session.get(Participant, idle_id) is None
    assert (
        client.post(f"/participants/{world['code']}/legal-hold", data={"hold": "release"}).status_code == 302
    )
    session.expire_all()
    counts = purge(session, FIXED_NOW - timedelta(days=1095), FIXED_NOW)
    session.commit()
    assert counts["participants"] == 1 and session.get(Participant, world["participant"]) is None
    assert [
        e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.action.like("legal_hold.%")))
    ] == [
        "legal_hold.place",
        "legal_hold.release",
    ]
    assert audit.verify(session).ok


# --- Marking a Part 2 program ------------------------------------------------------------------------


def test_the_provider_or_an_admin_marks_a_part2_program(client, session, world):
    from directory.models import Service

    pantry_staff = make_user(
        session, "provider", organization=session.get(Service, world["pantry"]).organization
    )
    session.commit()
    sign_in(client, world["clinic"])
    assert (
        client.post(f"/provider/services/{world['pantry']}/part2", data={"part2_program": "1"}).status_code
        == 403
    )
    sign_in(client, world["cm"])
    assert (
        client.post(f"/provider/services/{world['pantry']}/part2", data={"part2_program": "1"}).status_code
        == 403
    )
    session.expire_all()
    assert session.get(Service, world["pantry"]).part2_program is False
    sign_in(client, pantry_staff)
    assert "Mark as a 42 CFR Part 2 program" in client.get("/provider").get_data(as_text=True)
    assert (
        client.post(f"/provider/services/{world['pantry']}/part2", data={"part2_program": "1"}).status_code
        == 302
    )
    session.expire_all()
    assert session.get(Service, world["pantry"]).part2_program is True
    assert [e.payload for e in _actions(session, "service.part2_program")] == [{"part2_program": True}]
    sign_in(client, world["cm"])
    assert "there is no release on file for this program" in _check(client, world, world["pantry"])
    sign_in(client, world["admin"])
    assert (
        client.post(f"/provider/services/{world['pantry']}/part2", data={"part2_program": "0"}).status_code
        == 302
    )
    session.expire_all()
    assert session.get(Service, world["pantry"]).part2_program is False


def test_confidential_providers_are_the_keys_the_pm_tables_merge(session, world):
    from directory.domain.confidential_rows import confidential_providers
    from directory.models import Service

    names = confidential_providers(session)
    assert names == {session.get(Service, world["shelter"]).organization.name}
