"""'They said full' and decline reasons over HTTP: the report endpoint and the one-tap form (who may, what
it answers, bad input changing nothing), what staff and the public read afterwards, and a provider's
decline with its reason in the API and the inbox, read by the case manager instead of "was declined"."""

import pytest
from sqlalchemy import func, select

from directory.models import CapacityReport, Referral
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_token, make_user, sign_in
from tests.harness import visible_text


@pytest.fixture
def world(session):
    spare = make_service(
        session,
        name="Spare Beds",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    users = {
        "cm": make_user(session, "case_manager"),
        "peer": make_user(session, "peer_outreach"),
        "provider": make_user(session, "provider", organization=spare.organization),
        "pm": make_user(session, "project_manager"),
    }
    participant = make_participant(session, users["cm"])
    tokens = {k: {"Authorization": f"Bearer {make_token(session, u)}"} for k, u in users.items()}
    session.commit()
    return {
        "spare": spare.id,
        "code": participant.code,
        "tokens": tokens,
        "ids": {k: u.id for k, u in users.items()},
    }


def report(client, world, who, **body):
    return client.post(
        f"/api/v1/services/{world['spare']}/capacity/reports", json=body, headers=world["tokens"][who]
    )


def status_of(client, world, headers=None):
    return client.get(f"/api/v1/services/{world['spare']}", headers=headers or {}).get_json()


def test_a_report_answers_201_and_staff_read_it_the_public_reads_call_first(client, session, world):
    assert status_of(client, world)["capacity"]["status"] == "spare_capacity"
    made = report(client, world, "peer", observed="full", note="Door staff said full")
    assert made.status_code == 201
    body = made.get_json()
    assert (body["observed"], body["reporter_role"], body["unverified"]) == ("full", "peer_outreach", True)
    assert body["summary"] == "reported full just now by a peer outreach worker"
    assert "reported_by" not in body
    public = status_of(client, world)
    assert public["capacity"]["status"] == "unverified" and "field_reports" not in public
    staff = status_of(client, world, world["tokens"]["cm"])
    assert [r["summary"] for r in staff["field_reports"]] == [
        "reported full just now by a peer outreach worker"
    ]
    # The search by availability no longer offers it as spare.
    found = client.get("/api/v1/services", query_string={"availability": "spare"}).get_json()
    assert world["spare"] not in [item["id"] for item in found["items"]]
    # The service page: staff read the report; the public the status word, nothing about a report.
    anonymous = visible_text(client.get(f"/services/{world['spare']}").get_data(as_text=True))
    assert "Unverified: call first" in anonymous
    assert "peer outreach" not in anonymous and "eported" not in anonymous
    sign_in(client, world["ids"]["cm"])
    staff_page = visible_text(client.get(f"/services/{world['spare']}").get_data(as_text=True))
    assert "Reported full just now by a peer outreach worker" in staff_page


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"observed": "crowded"}, "observed"),
        ({"observed": "wrong_phone"}, "correct_phone"),
        ({"observed": "turned_away", "attribute": "pets_allowed"}, "attribute"),
        ({"observed": "full", "note": "her number is 206-555-0100"}, "note"),
        ({"observed": "full", "referral_id": 999999}, "referral_id"),
        ({"observed": "full", "reporter": "me"}, "reporter"),
    ],
)
def test_bad_reports_are_400_and_change_nothing(client, session, world, body, field):
    answer = report(client, world, "cm", **body)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["field"] == field
    assert session.scalar(select(func.count(CapacityReport.id))) == 0
    assert status_of(client, world)["capacity"]["status"] == "spare_capacity"


def test_who_may_report(client, session, world):
    assert report(client, world, "provider", observed="full").status_code == 403
    assert report(client, world, "pm", observed="full").status_code == 403
    assert (
        client.post(
            f"/api/v1/services/{world['spare']}/capacity/reports", json={"observed": "full"}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/v1/services/999999/capacity/reports",
            json={"observed": "full"},
            headers=world["tokens"]["cm"],
        ).status_code
        == 404
    )
    assert session.scalar(select(func.count(CapacityReport.id))) == 0


def test_the_one_tap_form(client, session, world):
    sign_in(client, world["ids"]["peer"])
    page = client.get(f"/services/{world['spare']}").get_data(as_text=True)
    assert 'id="report-heading"' in page and 'value="full"' in page
    bad = client.post(f"/services/{world['spare']}/reports", data={"observed": "nonsense"})
    assert bad.status_code == 400 and "observed must be one of" in bad.get_data(as_text=True)
    assert session.scalar(select(func.count(CapacityReport.id))) == 0
    done = client.post(f"/services/{world['spare']}/reports", data={"observed": "full", "back": "service"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/services/{world['spare']}#report")
    after = visible_text(client.get(f"/services/{world['spare']}").get_data(as_text=True))
    assert "the provider was asked to confirm" in after.lower()
    # The provider is told, and asked to confirm or correct.
    sign_in(client, world["ids"]["provider"])
    notices = visible_text(client.get("/notifications").get_data(as_text=True))
    assert "Reported full: Spare Beds" in notices and "one tap" in notices


def claim(client, world):
    answer = client.post(
        "/api/v1/referrals",
        json={"service_id": world["spare"], "participant_code": world["code"], "action": "claim"},
        headers=world["tokens"]["cm"],
    )
    assert answer.status_code == 201
    return answer.get_json()["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "busy"}, "reason"),
        ({"reason": "not_eligible"}, "rule"),
        ({"reason": "turned_away", "attribute": "pets_allowed"}, "attribute"),
        ({"reason": "other", "colour": "red"}, "colour"),
    ],
)
def test_a_decline_without_a_good_reason_is_400_and_the_hold_stays(client, session, world, body, field):
    referral_id = claim(client, world)
    answer = client.post(
        f"/api/v1/referrals/{referral_id}/decline", json=body, headers=world["tokens"]["provider"]
    )
    assert answer.status_code == 400 and answer.get_json()["error"]["field"] == field
    session.expire_all()
    assert session.get(Referral, referral_id).state == "held"


def test_the_case_manager_reads_the_decline_reason(client, session, world):
    referral_id = claim(client, world)
    answer = client.post(
        f"/api/v1/referrals/{referral_id}/decline",
        json={"reason": "turned_away", "attribute": "accepts_active_use"},
        headers=world["tokens"]["provider"],
    )
    assert answer.status_code == 200
    seen = client.get(f"/api/v1/referrals/{referral_id}", headers=world["tokens"]["cm"]).get_json()
    assert seen["decline"] == {"reason": "turned_away", "rule": None, "attribute": "accepts_active_use"}
    sign_in(client, world["ids"]["cm"])
    text = visible_text(client.get(f"/referrals/{referral_id}").get_data(as_text=True))
    assert "Declined: turned away despite listing “accepts people actively using”" in text
    notices = visible_text(client.get("/notifications").get_data(as_text=True))
    assert "was declined: turned away for something the listing says it accepts" in notices


def test_the_inbox_declines_with_a_reason(client, session, world):
    referral_id = claim(client, world)
    sign_in(client, world["ids"]["provider"])
    inbox = client.get("/provider/referrals").get_data(as_text=True)
    assert 'name="reason"' in inbox and "No capacity" in inbox
    refused = client.post(f"/provider/referrals/{referral_id}/decline", data={})
    assert refused.status_code == 400 and "say why you decline" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Referral, referral_id).state == "held"
    done = client.post(f"/provider/referrals/{referral_id}/decline", data={"reason": "no_capacity"})
    assert done.status_code == 302
    session.expire_all()
    declined = session.get(Referral, referral_id)
    assert (declined.state, declined.closed_reason) == ("declined", "no_capacity")
    # A check said free, the provider says no capacity: the numbers are unverified until it corrects them.
    assert status_of(client, world)["capacity"]["status"] == "unverified"


def test_the_provider_answers_in_one_tap(client, session, world):
    assert (
        report(client, world, "cm", observed="wrong_phone", correct_phone="206-555-0111").status_code == 201
    )
    assert report(client, world, "cm", observed="full").status_code == 201
    sign_in(client, world["ids"]["provider"])
    page = visible_text(client.get(f"/provider/services/{world['spare']}").get_data(as_text=True))
    assert "Reported full just now by a case manager" in page
    assert "the correct phone may be 206-555-0111" in page
    assert status_of(client, world)["capacity"]["status"] == "unverified"
    assert client.post(f"/provider/services/{world['spare']}/confirm").status_code == 302
    assert status_of(client, world)["capacity"]["status"] == "spare_capacity"
    session.expire_all()
    assert {r.resolution for r in session.scalars(select(CapacityReport))} == {"confirmed"}
    page = visible_text(client.get(f"/provider/services/{world['spare']}").get_data(as_text=True))
    assert "Reported from the field" not in page
