"""The form and the API parse a referral request the same way and give the same answers to the same input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory.models import Goal, Referral
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_token, make_user
from tests.web.test_case_manager_pages import login

pytestmark = pytest.mark.db


@pytest.fixture
def world(session):
    spare = make_service(
        session,
        name="Spare Beds",
        capacity={"maximum": 5, "available": 3, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    cm, other_cm = make_user(session, "case_manager"), make_user(session, "case_manager")
    mine, theirs = make_participant(session, cm), make_participant(session, other_cm)
    theirs_goal = Goal(
        participant_id=theirs.id, domain="housing", text="a place of my own", created_at=FIXED_NOW
    )
    session.add(theirs_goal)
    token = make_token(session, cm)
    session.commit()
    return {
        "spare": spare.id,
        "cm": cm,
        "token": token,
        "mine": mine.code,
        "theirs": theirs.code,
        "their_goal": theirs_goal.id,
    }


def send(client, world, channel, *, key=None, **fields):
    """Post the same referral through the page form or the API; returns (status, referral id or None)."""
    if channel == "form":
        login(client, world["cm"])
        form = {"service_id": world["spare"], "participant": world["mine"], "action": "claim", **fields}
        if "participant_code" in form:
            form["participant"] = form.pop("participant_code")
        if key:
            form["idempotency_key"] = key
        response = client.post("/referrals", data=form)
        location = response.headers.get("Location", "")
        return response.status_code, int(location.rsplit("/", 1)[1]) if response.status_code == 302 else None
    body = {"service_id": world["spare"], "participant_code": world["mine"], "action": "claim", **fields}
    headers = {"Authorization": f"Bearer {world['token']}"} | ({"Idempotency-Key": key} if key else {})
    response = client.post("/api/v1/referrals", json=body, headers=headers)
    return response.status_code, (response.get_json() or {}).get("id")


CHANNELS = pytest.mark.parametrize("channel", ["form", "api"])
SUCCESS = {"form": 302, "api": 201}


@CHANNELS
def test_a_repeated_idempotency_key_gives_the_first_referral(client, session, world, channel):
    first = send(client, world, channel, key="same-key-1")
    second = send(client, world, channel, key="same-key-1")
    assert first[0] == second[0] == SUCCESS[channel]
    assert first[1] == second[1] is not None
    assert session.scalar(select(func.count()).select_from(Referral)) == 1


@CHANNELS
@pytest.mark.parametrize("goal", ["999999", "their_goal"])
def test_a_goal_that_is_not_in_the_participants_plan_is_a_400_naming_goal_id(
    client, session, world, channel, goal
):
    goal_id = world["their_goal"] if goal == "their_goal" else int(goal)
    status, _ = send(client, world, channel, goal_id=goal_id)
    assert status == 400
    assert session.scalar(select(func.count()).select_from(Referral)) == 0
    if channel == "api":
        response = client.post(
            "/api/v1/referrals",
            json={
                "service_id": world["spare"],
                "participant_code": world["mine"],
                "action": "claim",
                "goal_id": goal_id,
            },
            headers={"Authorization": f"Bearer {world['token']}"},
        )
        assert response.get_json()["error"]["field"] == "goal_id"


@CHANNELS
@pytest.mark.parametrize("whose", ["theirs", "nobody"])
def test_a_participant_missing_or_not_yours_is_the_same_404(client, session, world, channel, whose):
    code = world["theirs"] if whose == "theirs" else "P-ZZZZZZ"
    status, _ = send(client, world, channel, participant_code=code)
    assert status == 404
    assert session.scalar(select(func.count()).select_from(Referral)) == 0
