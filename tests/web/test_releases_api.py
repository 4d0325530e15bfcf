"""The releases-of-information API (issue 24): list, record and revoke a participant's releases, by the
participant's own case manager or an admin; audited; bad input a 400 with nothing stored, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory.models import AuditEvent, ReleaseOfInformation
from tests.conftest import FIXED_NOW
from tests.factories import make_participant, make_service, make_token, make_user

pytestmark = pytest.mark.db

TODAY = FIXED_NOW.date()


@pytest.fixture
def world(session):
    clinic = make_service(
        session, name="Harbor Recovery Clinic", domain="substance_use_treatment", part2_program=True
    )
    cm = make_user(session, "case_manager")
    users = {
        "cm": cm,
        "cm2": make_user(session, "case_manager"),
        "admin": make_user(session, "admin"),
        "peer": make_user(session, "peer_outreach"),
        "provider": make_user(session, "provider", organization=clinic.organization),
        "pm": make_user(session, "project_manager"),
    }
    participant = make_participant(session, cm)
    tokens = {name: {"Authorization": f"Bearer {make_token(session, user)}"} for name, user in users.items()}
    session.commit()
    return {"org": clinic.organization_id, "code": participant.code, "tokens": tokens, "pid": participant.id}


def body(world, **changes):
    return {
        "organization_id": world["org"],
        "purpose": "referral_outcome",
        "signed_on": (TODAY.replace(day=1)).isoformat(),
        "expires_on": TODAY.replace(year=TODAY.year + 1).isoformat(),
        **changes,
    }


def url(world, tail=""):
    return f"/api/v1/participants/{world['code']}/releases{tail}"


def count(session, model, **where):
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return session.scalar(query)


def test_record_list_revoke_round_trip_is_audited(client, session, world):
    h = world["tokens"]["cm"]
    made = client.post(url(world), json=body(world), headers=h)
    assert made.status_code == 201, made.get_json()
    release = made.get_json()
    assert release["state"] == "current" and release["organization"]["id"] == world["org"]
    assert release["revoked_at"] is None and set(release) >= {"id", "purpose", "signed_on", "expires_on"}
    listed = client.get(url(world), headers=h)
    assert listed.status_code == 200 and [r["id"] for r in listed.get_json()["items"]] == [release["id"]]
    revoked = client.post(url(world, f"/{release['id']}/revoke"), headers=h)
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    again = client.post(url(world, f"/{release['id']}/revoke"), headers=h)
    assert again.status_code == 409 and again.get_json()["error"]["code"]
    assert count(session, AuditEvent, action="release.record") == 1
    assert count(session, AuditEvent, action="release.revoke") == 1
    reads = session.scalars(select(AuditEvent).where(AuditEvent.action == "participant.read")).all()
    assert any(event.payload.get("view") == "releases" for event in reads), [e.payload for e in reads]


def test_an_admin_may_record_for_any_participant(client, world):
    assert client.post(url(world), json=body(world), headers=world["tokens"]["admin"]).status_code == 201


@pytest.mark.parametrize(("role", "status"), [("peer", 403), ("provider", 403), ("pm", 403), ("cm2", 404)])
def test_other_roles_and_other_case_managers_neither_see_nor_record(client, session, world, role, status):
    """Releases are plan data (domain.md "Who sees what"): peers refer by code, providers see the referrals
    they receive, the project manager audits referrals; another case manager's participant reads as a
    code that does not exist."""
    h = world["tokens"][role]
    listed = client.get(url(world), headers=h)
    assert listed.status_code == status and "items" not in (listed.get_json() or {})
    assert client.post(url(world), json=body(world), headers=h).status_code == status
    assert count(session, ReleaseOfInformation) == 0


def test_another_case_manager_cannot_revoke(client, session, world):
    made = client.post(url(world), json=body(world), headers=world["tokens"]["cm"]).get_json()
    answer = client.post(url(world, f"/{made['id']}/revoke"), headers=world["tokens"]["cm2"])
    assert answer.status_code == 404
    assert session.get(ReleaseOfInformation, made["id"]).revoked_at is None


def test_no_credentials_is_401(client, world):
    assert client.get(url(world)).status_code == 401
    assert client.post(url(world), json=body(world)).status_code == 401


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"organization_id": "1"}, "organization_id"),
        ({"organization_id": True}, "organization_id"),
        ({"organization_id": 10**30}, "organization_id"),
        ({"organization_id": -1}, "organization_id"),
        ({"organization_id": 2**31}, "organization_id"),
        ({"organization_id": 999_999}, "organization_id"),
        ({"purpose": "marketing"}, "purpose"),
        ({"purpose": ["referral_outcome"]}, "purpose"),
        ({"signed_on": "yesterday"}, "signed_on"),
        ({"signed_on": 20261101}, "signed_on"),
        ({"signed_on": "2999-01-01", "expires_on": "2999-02-01"}, "signed_on"),
        ({"expires_on": "2000-01-01"}, "expires_on"),
        ({"expires_on": "2040-01-01"}, "expires_on"),
        ({"expires_on": None}, "expires_on"),
        ({"image": "data:image/png;base64,AAAA"}, "image"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(client, session, world, changes, field):
    answer = client.post(url(world), json=body(world, **changes), headers=world["tokens"]["cm"])
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"]["field"] == field
    assert count(session, ReleaseOfInformation) == 0
    assert count(session, AuditEvent, action="release.record") == 0


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_an_object_is_a_400(client, session, world, raw):
    answer = client.post(
        url(world), data=raw, headers={**world["tokens"]["cm"], "Content-Type": "application/json"}
    )
    assert answer.status_code == 400 and answer.get_json()["error"]["code"]
    assert count(session, ReleaseOfInformation) == 0


@pytest.mark.parametrize(
    "tail", ["/0/revoke", "/2147483648/revoke", "/123456789012/revoke", "/abc/revoke", "/99999/revoke"]
)
def test_unknown_releases_are_404(client, world, tail):
    answer = client.post(url(world, tail), headers=world["tokens"]["cm"])
    assert answer.status_code == 404 and answer.get_json()["error"]["code"]


def test_the_openapi_document_lists_the_release_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/participants/{code}/releases"]) == {"get", "post"}
    assert "post" in paths["/participants/{code}/releases/{release_id}/revoke"]
