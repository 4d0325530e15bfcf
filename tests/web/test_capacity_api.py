"""Provider API: PUT capacity and confirm with tokens; invariants checked; refused updates change nothing."""

import pytest
from sqlalchemy import select

from directory.models import CapacityEvent, ServiceCapacity
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, make_service, make_token, make_user


@pytest.fixture
def provider_setup(session):
    service = make_service(
        session, capacity={"maximum": 10, "available": 4, "waitlist": 2, "confirmed_at": None}, **LOW_BARRIER
    )
    provider = make_user(session, "provider", organization=service.organization)
    token = make_token(session, provider)
    session.commit()
    return service, {"Authorization": f"Bearer {token}"}


def numbers(session, service_id):
    session.expire_all()
    row = session.scalar(select(ServiceCapacity).where(ServiceCapacity.service_id == service_id))
    return (
        row.maximum,
        row.available,
        row.waitlist,
        row.lead_funded_maximum,
        row.lead_funded_available,
        row.confirmed_at,
    )


def test_put_sets_numbers_and_confirms(client, session, provider_setup):
    service, headers = provider_setup
    response = client.put(
        f"/api/v1/services/{service.id}/capacity", json={"available": 7, "waitlist": None}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["capacity"]["available"] == 7 and body["capacity"]["waitlist"] is None
    assert body["capacity"]["confirmed_at"] == "2026-11-24T18:00:00Z"
    assert body["holds_at_risk"] == []
    assert numbers(session, service.id)[:3] == (10, 7, None)
    event = session.scalar(select(CapacityEvent))
    assert (event.kind, event.channel, event.before["available"], event.after["available"]) == (
        "update",
        "api",
        4,
        7,
    )
    # The search API shows the new numbers at once (to staff: the public sees the status word only).
    shown = client.get(f"/api/v1/services/{service.id}", headers=headers).get_json()["capacity"]
    assert shown["available"] == 7 and shown["confirmed_at"] == "2026-11-24T18:00:00Z"


BAD_BODIES = [
    ({"available": True}, "available"),
    ({"available": "5"}, "available"),
    ({"available": 5.0}, "available"),
    ({"available": -1}, "available"),
    ({"maximum": 100_001}, "maximum"),
    ({"available": 11}, "available"),  # above maximum 10
    ({"maximum": 3}, "available"),  # below available 4
    ({"lead_funded_available": 1}, "lead_funded_available"),  # above LEAD maximum 0
    ({"colour": 1}, "colour"),
    ({"maximum": None}, "maximum"),
    ({}, None),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=[str(b) for b, _ in BAD_BODIES])
def test_bad_updates_are_400_and_change_nothing(client, session, provider_setup, body, field):
    service, headers = provider_setup
    before = numbers(session, service.id)
    response = client.put(f"/api/v1/services/{service.id}/capacity", json=body, headers=headers)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error.get("field") == field
    assert numbers(session, service.id) == before
    assert session.scalar(select(CapacityEvent.id)) is None


def test_malformed_json_and_non_objects(client, session, provider_setup):
    service, headers = provider_setup
    url = f"/api/v1/services/{service.id}/capacity"
    for data in ("{not json", "[1, 2]", '"text"', "null"):
        response = client.put(url, data=data, content_type="application/json", headers=headers)
        assert response.status_code == 400 and response.is_json


def test_lead_units_refused_on_a_service_that_is_not_fundable(client, session):
    service = make_service(session, domain="housing", capacity={"maximum": 5, "available": 1, "waitlist": 0})
    provider = make_user(session, "provider", organization=service.organization)
    headers = {"Authorization": f"Bearer {make_token(session, provider)}"}
    session.commit()
    response = client.put(
        f"/api/v1/services/{service.id}/capacity", json={"lead_funded_maximum": 2}, headers=headers
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "lead_funded_maximum"


def test_confirm_keeps_numbers_and_refreshes_the_time(client, session, provider_setup):
    service, headers = provider_setup
    before = numbers(session, service.id)
    response = client.post(f"/api/v1/services/{service.id}/capacity/confirm", headers=headers)
    assert response.status_code == 200
    after = numbers(session, service.id)
    assert after[:5] == before[:5]
    assert after[5] == FIXED_NOW


def test_editing_listing_text_does_not_refresh_confirmed_at(session):
    service = make_service(
        session, capacity={"maximum": 5, "available": 1, "waitlist": 0, "confirmed_at": None}
    )
    service.description = "New words"
    service.name = "Renamed"
    session.commit()
    assert numbers(session, service.id)[5] is None


def test_auth_errors(client, session, provider_setup):
    service, headers = provider_setup
    url = f"/api/v1/services/{service.id}/capacity"
    assert client.put(url, json={"available": 1}).status_code == 401
    assert client.put(url, json={"available": 1}, headers={"Authorization": "Bearer nope"}).status_code == 401
    other = make_service(session, capacity={"maximum": 5, "available": 1, "waitlist": 0})
    assert (
        client.put(
            f"/api/v1/services/{other.id}/capacity", json={"available": 1}, headers=headers
        ).status_code
        == 403
    )
    assert (
        client.put("/api/v1/services/999999/capacity", json={"available": 1}, headers=headers).status_code
        == 404
    )
    open_access = make_service(session, organization=service.organization)
    session.commit()
    assert (
        client.put(
            f"/api/v1/services/{open_access.id}/capacity", json={"available": 1}, headers=headers
        ).status_code
        == 409
    )


def test_revoked_token_is_401(client, session, provider_setup):
    from directory.models import ApiToken

    service, headers = provider_setup
    token = session.scalar(select(ApiToken))
    token.revoked_at = FIXED_NOW
    session.commit()
    response = client.put(f"/api/v1/services/{service.id}/capacity", json={"available": 1}, headers=headers)
    assert response.status_code == 401 and response.is_json


def test_session_writes_need_csrf_but_bearer_writes_do_not(app, session, provider_setup):
    service, headers = provider_setup
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    provider = make_user(
        session, "provider", organization=service.organization, password="correct horse battery"
    )
    session.commit()
    page = client.get("/login")
    assert page.status_code == 200
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post(
        "/login", data={"email": provider.email, "password": "correct horse battery", "csrf_token": token}
    )
    assert response.status_code == 302
    url = f"/api/v1/services/{service.id}/capacity"
    refused = client.put(url, json={"available": 1})
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["error"]["message"]
    # The token is rotated at sign-in: the one from the sign-in page no longer works, a fresh one does.
    stale = client.put(url, json={"available": 1}, headers={"X-CSRFToken": token})
    assert stale.status_code == 400 and "CSRF" in stale.get_json()["error"]["message"]
    page = client.get("/notifications").get_data(as_text=True)
    fresh_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.put(url, json={"available": 1}, headers={"X-CSRFToken": fresh_token}).status_code == 200
    assert app.test_client().put(url, json={"available": 2}, headers=headers).status_code == 200
