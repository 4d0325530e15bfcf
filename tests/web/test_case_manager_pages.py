"""Case-manager pages: the check in plain words, acting on it, the plan, and the printed slip."""

import json
import re
from html import unescape as html_unescape

import pytest
from sqlalchemy import func, select

from directory.models import Referral
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_user, sign_in


def login(client, user):
    sign_in(client, user)


@pytest.fixture
def cm_world(session, client):
    spare = make_service(
        session,
        name="Spare Beds",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    lead = make_service(
        session,
        name="Purchased Beds",
        capacity={
            "maximum": 5,
            "available": 0,
            "waitlist": 2,
            "lead_funded_maximum": 2,
            "lead_funded_available": 2,
            "confirmed_at": fresh(FIXED_NOW),
        },
        **LOW_BARRIER,
    )
    busy = make_service(
        session,
        name="Busy Beds",
        capacity={"maximum": 5, "available": 1, "waitlist": 4, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    cm = make_user(session, "case_manager", display_name="Case Manager Desk", phone="206-555-0190")
    participant = make_participant(session, cm)
    session.commit()
    login(client, cm)
    return {"spare": spare.id, "lead": lead.id, "busy": busy.id, "code": participant.code, "cm": cm}


def test_check_page_says_it_in_plain_words(client, cm_world):
    html = client.get(
        f"/referrals/check?service_id={cm_world['lead']}&participant={cm_world['code']}"
    ).get_data(as_text=True)
    assert "Uses 1 of 2 free LEAD-funded beds" in html
    html = client.get(
        f"/referrals/check?service_id={cm_world['busy']}&participant={cm_world['code']}"
    ).get_data(as_text=True)
    assert "Would delay the 4 people on this program&#39;s waitlist" in html
    assert "Spare Beds" in html  # offered as an alternative
    assert 'value="override"' in html and 'value="join_waitlist"' in html and 'value="claim"' not in html


def test_override_needs_the_acknowledgement(client, session, cm_world):
    form = {
        "service_id": cm_world["busy"],
        "participant": cm_world["code"],
        "action": "override",
        "reason_code": "safety",
        "justification": "Unsafe where they sleep; cannot wait a week.",
    }
    refused = client.post("/referrals", data=form)
    assert refused.status_code == 400
    assert 'aria-describedby="acknowledge-error"' in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Referral)) == 0
    done = client.post("/referrals", data={**form, "acknowledge": "1", "decline_reason": "too_far"})
    assert done.status_code == 302
    plan = client.get(f"/participants/{cm_world['code']}").get_data(as_text=True)
    assert "displacement override" in plan
    service_page = client.get(f"/services/{cm_world['busy']}").get_data(as_text=True)
    assert "displacement override: Safety" in service_page


def test_claim_from_the_page_and_retry_with_the_same_key(client, session, cm_world):
    form = {
        "service_id": cm_world["spare"],
        "participant": cm_world["code"],
        "action": "claim",
        "expected_classification": "spare_capacity",
        "idempotency_key": "page-key-1",
    }
    first = client.post("/referrals", data=form)
    second = client.post("/referrals", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert session.scalar(select(func.count()).select_from(Referral)) == 1


def test_stale_page_gets_409_with_the_fresh_check(client, session, cm_world):
    form = {
        "service_id": cm_world["busy"],
        "participant": cm_world["code"],
        "action": "join_waitlist",
        "expected_classification": "spare_capacity",
    }
    response = client.post("/referrals", data=form)
    assert response.status_code == 409
    assert 'data-classification="displacement"' in response.get_data(as_text=True)


def test_slip_in_english_and_spanish_never_says_lead(client, session, cm_world):
    client.post(
        "/referrals",
        data={"service_id": cm_world["lead"], "participant": cm_world["code"], "action": "claim"},
    )
    referral = session.scalar(select(Referral))
    english = client.get(f"/referrals/{referral.id}/slip").get_data(as_text=True)
    spanish = client.get(f"/referrals/{referral.id}/slip?lang=es").get_data(as_text=True)
    for html in (english, spanish):
        text = re.sub(r"<[^>]+>", " ", html)
        assert not re.search(r"\bLEAD\b|diversion", text, re.IGNORECASE)
        assert cm_world["code"] not in html
        assert "<svg" in html  # QR code to the service page
        assert "206-555-0190" in html
    assert "Your contact" in english and "Su contacto" in spanish and 'lang="es"' in spanish
    with_code = client.get(f"/referrals/{referral.id}/slip?code=1").get_data(as_text=True)
    assert cm_world["code"] in with_code
    # A small map of where to go, with nothing about capacity on it (its one marker has a neutral status).
    markers = json.loads(html_unescape(re.search(r"data-markers='([^']+)'", english).group(1)))
    assert [m[0] for m in markers["markers"]] == [cm_world["lead"]]
    assert markers["statuses"] == [{"code": "place", "label": "", "symbol": "●", "text": ""}]
    assert markers["checkUrl"] is None and "lead" not in json.dumps(markers).lower()


def test_new_participant_and_goal_pages(client, session, cm_world):
    response = client.post(
        "/participants", data={"place": "Pioneer Square", "languages": ["es"], "low_barrier": "1"}
    )
    assert response.status_code == 302
    code = response.headers["Location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"P-[2-9A-Z]{6}", code)
    bad = client.post(f"/participants/{code}/goals", data={"domain": "housing", "text": "born 1/2/1980"})
    assert bad.status_code == 400
    good = client.post(
        f"/participants/{code}/goals", data={"domain": "housing", "text": "A room near my work"}
    )
    assert good.status_code == 302
    assert "A room near my work" in client.get(f"/participants/{code}").get_data(as_text=True)
