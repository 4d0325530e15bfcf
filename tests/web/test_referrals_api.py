"""The participant and referral API: the contract's shapes, 409 with the fresh check, idempotency, roles."""

import pytest
from sqlalchemy import func, select

from directory.models import AuditEvent, Referral, ReferralCheck
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_service, make_token, make_user


@pytest.fixture
def world(session):
    spare = make_service(
        session,
        name="Spare Beds",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    waiting = make_service(
        session,
        name="Busy Beds",
        capacity={"maximum": 5, "available": 1, "waitlist": 3, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    cm = make_user(session, "case_manager")
    cm2 = make_user(session, "case_manager")
    peer = make_user(session, "peer_outreach")
    provider = make_user(session, "provider", organization=spare.organization)
    tokens = {
        name: {"Authorization": f"Bearer {make_token(session, user)}"}
        for name, user in {"cm": cm, "cm2": cm2, "peer": peer, "provider": provider}.items()
    }
    session.commit()
    return {"spare": spare.id, "waiting": waiting.id, "tokens": tokens}


def new_participant(client, headers, **body):
    response = client.post("/api/v1/participants", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_participant_plan_round_trip(client, world):
    h = world["tokens"]["cm"]
    participant = new_participant(
        client, h, needs={"languages": ["Spanish"], "low_barrier": True}, place="98104"
    )
    code = participant["code"]
    assert code.startswith("P-") and len(code) == 8
    assert participant["needs"] == {"languages": ["es"], "low_barrier": True}
    assert participant["place"]["label"] == "98104"
    # 2 decimals at most: stored as hundredths of a degree.
    assert round(participant["place"]["latitude"], 2) == participant["place"]["latitude"]
    goal = client.post(
        f"/api/v1/participants/{code}/goals",
        json={"domain": "housing", "text": "A room of my own"},
        headers=h,
    )
    assert goal.status_code == 201
    referral = client.post(
        "/api/v1/referrals",
        json={
            "service_id": world["spare"],
            "participant_code": code,
            "action": "claim",
            "goal_id": goal.get_json()["id"],
        },
        headers=h,
    )
    assert referral.status_code == 201
    plan = client.get(f"/api/v1/participants/{code}", headers=h).get_json()
    assert plan["goals"][0]["text"] == "A room of my own"
    assert plan["goals"][0]["referrals"][0]["state"] == "held"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"needs": {"languages": ["Klingon"]}}, "needs.languages"),
        ({"needs": {"favourite_colour": "blue"}}, "needs"),
        ({"needs": {"low_barrier": "yes"}}, "needs.low_barrier"),
        ({"place": "Atlantis"}, "place"),
        ({"place": "00000"}, "place"),
        ({"name": "Someone"}, "name"),
        ({"date_of_birth": "1980-01-01"}, "date_of_birth"),
    ],
)
def test_participant_bad_input(client, world, body, field):
    response = client.post("/api/v1/participants", json=body, headers=world["tokens"]["cm"])
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


def test_goal_text_with_identifying_details_is_refused(client, world):
    h = world["tokens"]["cm"]
    code = new_participant(client, h)["code"]
    for text in ("Born 03/14/1985, wants a room", "call me at 206-555-0100", "ssn 123-45-6789"):
        response = client.post(
            f"/api/v1/participants/{code}/goals", json={"domain": "housing", "text": text}, headers=h
        )
        assert response.status_code == 400 and response.get_json()["error"]["field"] == "text"


def test_check_shape_and_it_is_recorded(client, session, world):
    h = world["tokens"]["cm"]
    code = new_participant(client, h, place="Pioneer Square")["code"]
    response = client.post(
        "/api/v1/referrals/check", json={"service_id": world["waiting"], "participant_code": code}, headers=h
    )
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) >= {
        "service_id",
        "classification",
        "would_displace",
        "actions",
        "reasons",
        "capacity",
        "alternatives",
    }
    assert body["classification"] == "displacement" and body["would_displace"] == 3
    assert body["actions"] == ["join_waitlist", "override"]
    assert [a["service"]["name"] for a in body["alternatives"]] == ["Spare Beds"]
    assert body["alternatives"][0]["classification"] == "spare_capacity"
    assert session.scalar(select(func.count()).select_from(ReferralCheck)) == 1
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_409_with_fresh_check_and_nothing_created(client, session, world):
    h = world["tokens"]["cm"]
    code = new_participant(client, h)["code"]
    response = client.post(
        "/api/v1/referrals",
        json={"service_id": world["waiting"], "participant_code": code, "action": "claim"},
        headers=h,
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"]["code"] == "classification_changed"
    assert body["check"]["classification"] == "displacement"
    stale = client.post(
        "/api/v1/referrals",
        json={
            "service_id": world["spare"],
            "participant_code": code,
            "action": "claim",
            "expected_classification": "lead_funded",
        },
        headers=h,
    )
    assert stale.status_code == 409 and stale.get_json()["check"]["classification"] == "spare_capacity"
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_override_is_recorded_as_displacement_with_hashed_justification(client, session, world):
    h = world["tokens"]["cm"]
    code = new_participant(client, h)["code"]
    justification = "Unsafe where they sleep and cannot wait a week."
    response = client.post(
        "/api/v1/referrals",
        json={
            "service_id": world["waiting"],
            "participant_code": code,
            "action": "override",
            "reason_code": "safety",
            "justification": justification,
        },
        headers=h,
    )
    assert response.status_code == 201
    referral = response.get_json()
    assert (referral["classification"], referral["action"], referral["reason_code"]) == (
        "displacement",
        "override",
        "safety",
    )
    assert referral["justification"] == justification
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "referral.override"))
    assert justification not in str(event.payload)
    import hashlib

    assert event.payload["justification_sha256"] == hashlib.sha256(justification.encode()).hexdigest()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"action": "override", "justification": "x" * 30}, "reason_code"),
        ({"action": "override", "reason_code": "safety", "justification": "short"}, "justification"),
        ({"action": "override", "reason_code": "because", "justification": "x" * 30}, "reason_code"),
        ({"action": "teleport"}, "action"),
        ({"action": "join_waitlist", "expected_classification": "nonsense"}, "expected_classification"),
        ({"action": "join_waitlist", "service_id": "5"}, "service_id"),
        ({"action": "join_waitlist", "goal_id": "x"}, "goal_id"),
        ({"action": "join_waitlist", "colour": "red"}, "colour"),
    ],
)
def test_referral_bad_input_is_400_and_changes_nothing(client, session, world, extra, field):
    h = world["tokens"]["cm"]
    code = new_participant(client, h)["code"]
    body = {"service_id": world["waiting"], "participant_code": code, **extra}
    response = client.post("/api/v1/referrals", json=body, headers=h)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_not_found_and_not_yours(client, world):
    h, h2 = world["tokens"]["cm"], world["tokens"]["cm2"]
    code = new_participant(client, h)["code"]
    assert (
        client.post(
            "/api/v1/referrals",
            json={"service_id": 999999, "participant_code": code, "action": "claim"},
            headers=h,
        ).status_code
        == 404
    )
    # Another case manager's participant answers exactly as a code that does not exist (issue 16).
    theirs = client.get(f"/api/v1/participants/{code}", headers=h2)
    missing = client.get("/api/v1/participants/P-ZZZZZZ", headers=h2)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == {"error": {"code": "not_found", "message": f"no participant {code!r}"}}
    assert missing.get_json() == {"error": {"code": "not_found", "message": "no participant 'P-ZZZZZZ'"}}
    goal = {"domain": "housing", "text": "a place of my own"}
    assert client.post(f"/api/v1/participants/{code}/goals", json=goal, headers=h2).get_json() == {
        "error": {"code": "not_found", "message": f"no participant {code!r}"}
    }
    assert (
        client.post(
            "/api/v1/referrals",
            json={"service_id": world["spare"], "participant_code": code, "action": "claim"},
            headers=h2,
        ).status_code
        == 404  # another case manager's participant: the same answer as no participant (issue 13)
    )
    assert client.get("/api/v1/participants/P-NOPE99", headers=h).status_code == 404


def test_idempotency_key_returns_the_first_referral(client, session, world):
    h = {**world["tokens"]["cm"], "Idempotency-Key": "retry-123"}
    code = new_participant(client, world["tokens"]["cm"])["code"]
    body = {"service_id": world["spare"], "participant_code": code, "action": "claim"}
    first = client.post("/api/v1/referrals", json=body, headers=h)
    second = client.post("/api/v1/referrals", json=body, headers=h)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert session.scalar(select(func.count()).select_from(Referral)) == 1


def test_peer_requests_only(client, world):
    cm, peer = world["tokens"]["cm"], world["tokens"]["peer"]
    code = new_participant(client, cm)["code"]
    claim = client.post(
        "/api/v1/referrals",
        json={"service_id": world["spare"], "participant_code": code, "action": "claim"},
        headers=peer,
    )
    assert claim.status_code == 403
    check = client.post(
        "/api/v1/referrals/check", json={"service_id": world["spare"], "participant_code": code}, headers=peer
    )
    assert check.status_code == 200 and check.get_json()["actions"] == []


def test_provider_accepts_own_referrals_only(client, session, world):
    cm, provider = world["tokens"]["cm"], world["tokens"]["provider"]
    code = new_participant(client, cm)["code"]
    spare = client.post(
        "/api/v1/referrals",
        json={"service_id": world["spare"], "participant_code": code, "action": "claim"},
        headers=cm,
    ).get_json()
    busy = client.post(
        "/api/v1/referrals",
        json={"service_id": world["waiting"], "participant_code": code, "action": "join_waitlist"},
        headers=cm,
    ).get_json()
    assert client.post(f"/api/v1/referrals/{busy['id']}/accept", headers=provider).status_code == 403
    accepted = client.post(
        f"/api/v1/referrals/{spare['id']}/accept", json={"note": "Bed 4"}, headers=provider
    )
    assert accepted.status_code == 200
    body = accepted.get_json()
    assert body["state"] == "accepted"
    assert [h["to"] for h in body["history"]] == ["held", "accepted"]
    again = client.post(
        f"/api/v1/referrals/{spare['id']}/decline", json={"reason": "other"}, headers=provider
    )
    assert again.status_code == 409
    # The provider reads its numbers (the public sees the status word only: public_counts is off).
    capacity = client.get(f"/api/v1/services/{world['spare']}", headers=provider).get_json()["capacity"]
    assert (capacity["available"], capacity["held_general"]) == (1, 0)
