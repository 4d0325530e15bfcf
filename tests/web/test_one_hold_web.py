"""One hold per need over HTTP: `check.participant_holds`, the 409 `second_hold` with the fresh check and the
same question on the page, releases and keeps, and what the provider of a released hold reads (never where
the person went)."""

from datetime import datetime

import pytest
from sqlalchemy import func, select

from directory.models import Referral, ServiceCapacity
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_token, make_user, sign_in
from tests.harness import visible_text

SHELTER = ("housing.emergency_shelter",)


def beds(session, name, terms=SHELTER):
    return make_service(
        session,
        name=name,
        terms=terms,
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )


@pytest.fixture
def world(session):
    jackson = beds(session, "Jackson Street Shelter")
    pine = beds(session, "Pine Street Shelter")
    harbor = beds(session, "Harbor Light Shelter")
    cm = make_user(session, "case_manager")
    jackson_provider = make_user(session, "provider", organization=jackson.organization)
    pine_provider = make_user(session, "provider", organization=pine.organization)
    participant = make_participant(session, cm)
    tokens = {
        "cm": {"Authorization": f"Bearer {make_token(session, cm)}"},
        "jackson": {"Authorization": f"Bearer {make_token(session, jackson_provider)}"},
        "pine": {"Authorization": f"Bearer {make_token(session, pine_provider)}"},
    }
    session.commit()
    return {
        "jackson": jackson.id,
        "pine": pine.id,
        "harbor": harbor.id,
        "code": participant.code,
        "tokens": tokens,
        "cm": cm.id,
        "jackson_provider": jackson_provider.id,
    }


def claim(client, world, key, **extra):
    return client.post(
        "/api/v1/referrals",
        json={"service_id": world[key], "participant_code": world["code"], "action": "claim", **extra},
        headers=world["tokens"]["cm"],
    )


def counts(session):
    session.expire_all()
    held = dict(session.execute(select(ServiceCapacity.service_id, ServiceCapacity.held_general)).all())
    states = dict(session.execute(select(Referral.id, Referral.state)).all())
    return held, states


def test_the_check_lists_the_participants_holds_and_asks_about_the_same_level(client, session, world):
    first = claim(client, world, "jackson").get_json()
    check = client.post(
        "/api/v1/referrals/check",
        json={"service_id": world["pine"], "participant_code": world["code"]},
        headers=world["tokens"]["cm"],
    ).get_json()
    holds = check["participant_holds"]
    assert [(h["referral_id"], h["state"], h["same_level"]) for h in holds] == [(first["id"], "held", True)]
    assert holds[0]["service"]["name"] == "Jackson Street Shelter"
    assert holds[0]["levels_of_care"] == ["housing.emergency_shelter"]
    assert check["second_hold"] is True


def test_a_second_hold_without_a_choice_is_409_second_hold_and_changes_nothing(client, session, world):
    first = claim(client, world, "jackson").get_json()
    before = counts(session)
    answer = claim(client, world, "pine")
    assert answer.status_code == 409
    body = answer.get_json()
    assert body["error"]["code"] == "second_hold"
    assert body["check"]["second_hold"] is True
    assert [h["referral_id"] for h in body["check"]["participant_holds"]] == [first["id"]]
    assert counts(session) == before


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"release_referral_ids": "1"}, "release_referral_ids"),
        ({"release_referral_ids": [0]}, "release_referral_ids"),
        ({"release_referral_ids": [999]}, "release_referral_ids"),
        ({"keep_both_reason": "because"}, "keep_both_reason"),
        ({"keep_both_reason": ["next_step"]}, "keep_both_reason"),
    ],
)
def test_bad_choices_are_400_and_change_nothing(client, session, world, extra, field):
    claim(client, world, "jackson")
    before = counts(session)
    answer = claim(client, world, "pine", **extra)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == field
    assert counts(session) == before


def test_release_or_keep_both_in_the_api(client, session, world):
    first = claim(client, world, "jackson").get_json()
    second = claim(client, world, "pine", release_referral_ids=[first["id"]])
    assert second.status_code == 201
    released = client.get(f"/api/v1/referrals/{first['id']}", headers=world["tokens"]["cm"]).get_json()
    assert (released["state"], released["closed_reason"]) == ("cancelled", "released")
    third = claim(client, world, "harbor", keep_both_reason="participant_choosing")
    assert third.status_code == 201
    body = third.get_json()
    assert body["keep_both_reason"] == "participant_choosing"
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert (expires - FIXED_NOW).total_seconds() <= 3600


def test_the_provider_of_a_released_hold_never_learns_where_the_person_went(client, session, world):
    first = claim(client, world, "jackson").get_json()
    second = claim(client, world, "pine", keep_both_reason="next_step").get_json()
    accepted = client.post(f"/api/v1/referrals/{second['id']}/accept", headers=world["tokens"]["pine"])
    assert accepted.status_code == 200
    seen = client.get(f"/api/v1/referrals/{first['id']}", headers=world["tokens"]["jackson"]).get_json()
    assert (seen["state"], seen["closed_reason"]) == ("cancelled", "released")
    assert "Pine" not in str(seen)
    # Its pages: the inbox, the referral page and the notices say "hold released" and nothing of Pine Street.
    sign_in(client, world["jackson_provider"])
    for url in ("/provider/referrals", f"/referrals/{first['id']}", "/notifications"):
        page = client.get(url)
        assert page.status_code == 200, url
        text = visible_text(page.get_data(as_text=True))
        assert "hold released" in text.lower(), url
        assert "Pine" not in text and "accepted the participant" not in text, url
    # The case manager reads why.
    sign_in(client, world["cm"])
    text = visible_text(client.get(f"/referrals/{first['id']}").get_data(as_text=True))
    assert "another provider accepted the participant" in text


def test_the_check_page_asks_the_same_question(client, session, world):
    first = claim(client, world, "jackson").get_json()
    sign_in(client, world["cm"])
    page = client.post("/referrals/check", data={"service_id": world["pine"], "participant": world["code"]})
    text = visible_text(page.get_data(as_text=True))
    assert "already has in this domain" in text and "Jackson Street Shelter" in text
    assert "already holds a unit at this level of care" in text
    assert 'name="release_referral_ids"' in page.get_data(as_text=True)
    form = {
        "service_id": world["pine"],
        "participant": world["code"],
        "expected_classification": "spare_capacity",
        "action": "claim",
    }
    before = session.scalar(select(func.count(Referral.id)))
    asked = client.post("/referrals", data=form)
    assert asked.status_code == 409
    assert "release it, or keep both with a reason" in visible_text(asked.get_data(as_text=True))
    assert session.scalar(select(func.count(Referral.id))) == before
    done = client.post("/referrals", data={**form, "release_referral_ids": str(first["id"])})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Referral, first["id"]).closed_reason == "released"
