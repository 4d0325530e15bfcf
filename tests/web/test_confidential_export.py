"""Issue 24 in the exports: a referral to a confidential (domestic-violence) service reads as the merged row
in the referral export and in the avoidable-override list and CSV, and nothing in them tells one shelter
from another or where one is."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from directory.domain.confidential_rows import CONFIDENTIAL_ROW
from directory.models import Referral, ReferralAlternative
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, make_participant, make_service, make_user, sign_in
from tests.harness import visible_text

pytestmark = pytest.mark.db

WINDOW = "start=2026-10-26&end=2026-11-24"
MADE = FIXED_NOW - timedelta(days=3)


def _referral(session, service, participant, cm, **values) -> Referral:
    fields = {
        "action": "claim",
        "classification": "spare_capacity",
        "state": "held",
        "hold": "general",
        "would_displace": 0,
        "domain": service.primary_domain,
        "created_at": MADE,
        "created_by": cm.id,
    }
    fields.update(values)
    referral = Referral(service_id=service.id, participant_id=participant.id, **fields)
    session.add(referral)
    session.flush()
    return referral


@pytest.fixture
def shelters(session):
    """Two confidential shelters of two organizations, unlike in every way a row could show (domain, the
    numbers at the check, outcome, alternatives measured from different places), and one plain service
    that is the nearest alternative of each; referrals to each made the same day, one an override."""
    first = make_service(
        session, name="Quiet Harbor Shelter", lat=47.61, lon=-122.33, confidential=True, **LOW_BARRIER
    )
    second = make_service(
        session,
        name="Safe Haven Rooms",
        domain="food",
        lat=47.70,
        lon=-122.20,
        confidential=True,
        **LOW_BARRIER,
    )
    plain = make_service(session, name="Plain Rooms", capacity={"available": 2}, **LOW_BARRIER)
    cm = make_user(session, "case_manager")
    pm = make_user(session, "project_manager")
    participant = make_participant(session, cm)
    made = [
        _referral(session, first, participant, cm, reference="C-AAAA2222"),
        _referral(
            session,
            second,
            participant,
            cm,
            reference="C-BBBB3333",
            action="override",
            classification="displacement",
            hold="none",
            state="accepted",
            closed_at=MADE + timedelta(hours=2),
            would_displace=7,
            reason_code="participant_choice",
            justification="The participant chose this shelter over the others offered.",
            justification_hash="x" * 64,
        ),
        _referral(session, plain, participant, cm),
    ]
    # The override's check offered the plain service, 4.2 km from where the check measured from.
    session.add(
        ReferralAlternative(
            referral_id=made[1].id,
            service_id=plain.id,
            position=0,
            classification="spare_capacity",
            distance_km=4.2,
            free_units=2,
        )
    )
    session.commit()
    return {
        "pm": pm.id,
        "confidential": [first, second],
        "plain": plain,
        "referrals": [r.id for r in made],
    }


def _export(client, name: str) -> tuple[str, list[dict]]:
    text = client.get(f"/pm/export/{name}.csv?{WINDOW}").get_data(as_text=True)
    body = text.split("\r\n\r\n")[0]  # the redisclosure notice follows a blank row
    return text, list(csv.DictReader(io.StringIO(body)))


def _secrets(world) -> list[str]:
    """What would tell the shelters apart or place them: names, their organizations' names, ids, places."""
    found = []
    for service in world["confidential"]:
        location = service.locations[0]
        found += [service.name, service.organization.name, f"{location.latitude}", f"{location.longitude}"]
    return found


def test_the_referral_export_shows_a_confidential_service_only_as_the_merged_row(client, shelters):
    sign_in(client, shelters["pm"])
    text, rows = _export(client, "referrals")
    for secret in _secrets(shelters):
        assert secret not in text
    hidden = [row for row in rows if row["service"] == CONFIDENTIAL_ROW]
    assert len(hidden) == 2
    # The two shelters differ in every column a row could carry, yet their rows are the same: no column
    # tells them apart (no referral or service id, domain, numbers, alternatives, participant, outcome).
    assert hidden[0] == hidden[1]
    assert hidden[0]["provider"] == CONFIDENTIAL_ROW and hidden[0]["state"] == "not_shared"
    assert hidden[0]["date"] == MADE.date().isoformat()
    assert {hidden[0][c] for c in ("referral_id", "service_id", "domain", "alternatives_offered")} == {""}
    ids = {row["referral_id"] for row in rows}
    assert {str(i) for i in shelters["referrals"][:2]}.isdisjoint(ids)
    assert {str(s.id) for s in shelters["confidential"]}.isdisjoint({row["service_id"] for row in rows})
    # The control: the plain service's row names it, with its ids and numbers.
    (plain,) = [row for row in rows if row["service"] != CONFIDENTIAL_ROW]
    assert plain["service"] == "Plain Rooms" and plain["service_id"] == str(shelters["plain"].id)
    assert plain["referral_id"] == str(shelters["referrals"][2]) and plain["state"] == "held"
    assert plain["provider"] == shelters["plain"].organization.name


def test_the_avoidable_list_and_export_merge_a_confidential_service(client, shelters):
    sign_in(client, shelters["pm"])
    text, rows = _export(client, "avoidable")
    page = visible_text(client.get(f"/pm?{WINDOW}").get_data(as_text=True))
    for secret in _secrets(shelters):
        assert secret not in text
        assert secret not in page
    (row,) = rows
    assert row["service"] == CONFIDENTIAL_ROW and row["provider"] == CONFIDENTIAL_ROW
    # The alternative was measured from where the check stood (the shelter, for a participant with no
    # location): neither its name nor its distance is shown.
    assert row["best_alternative"] == "" and row["distance_km"] == ""
    assert "Plain Rooms" not in text and "4.2" not in text
    assert "4.2 km" not in page
