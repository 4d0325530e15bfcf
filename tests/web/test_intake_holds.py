"""A shelter hold ends when intake closes, if that comes first: the check says so, the hold is made so, and
the referral page, the slip (English and Spanish) and its text message say so."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from directory.models import Referral
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_user, sign_in

# 16:00 in Seattle on Tuesday 24 November 2026 (UTC-8): evening intake (4-6 pm) has just opened.
EVENING = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
INTAKE = "Intake daily 8-10 am and 4-6 pm"


def words(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def shelter(app, session, client):
    app.config["CLOCK"] = lambda: EVENING
    made = {}
    for name, intake in (("Night Shelter", INTAKE), ("Unwritten Shelter", None), ("Vague Shelter", "ask")):
        made[name] = make_service(
            session,
            name=name,
            capacity={
                "unit_id": "shelter_bed",
                "maximum": 20,
                "available": 3,
                "confirmed_at": fresh(EVENING),
            },
            intake_mode="walk_in",
            intake_times=intake,
            **LOW_BARRIER,
        ).id
    cm = make_user(session, "case_manager", display_name="Desk", phone="206-555-0190")
    participant = make_participant(session, cm)
    session.commit()
    sign_in(client, cm)
    return made, participant.code


def claim(client, session, service_id: int, code: str) -> Referral:
    answer = client.post(
        "/referrals", data={"service_id": service_id, "participant": code, "action": "claim"}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return session.scalars(select(Referral).where(Referral.service_id == service_id)).one()


def test_the_check_says_the_hold_ends_when_intake_closes(client, shelter):
    made, code = shelter
    page = words(
        client.get(f"/referrals/check?service_id={made['Night Shelter']}&participant={code}").data.decode()
    )
    assert "ends at Tue, Nov 24, 6:00 PM, when intake closes (Intake daily 8-10 am and 4-6 pm)" in page
    page = words(
        client.get(
            f"/referrals/check?service_id={made['Unwritten Shelter']}&participant={code}"
        ).data.decode()
    )
    assert "intake" not in page.lower().replace("intake_", "")


def test_the_hold_is_made_to_end_at_intake_close_and_every_page_says_why(client, session, shelter):
    made, code = shelter
    referral = claim(client, session, made["Night Shelter"], code)
    # Three hours from 16:00 would be 19:00; evening intake closes at 18:00 local = 02:00 UTC.
    assert referral.expires_at == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    page = words(client.get(f"/referrals/{referral.id}").data.decode())
    assert "held until Tue, Nov 24, 6:00 PM (in 2 hours), when intake closes" in page
    english = client.get(f"/referrals/{referral.id}/slip").get_data(as_text=True)
    assert "A place is kept for you until Tue, Nov 24, 6:00 PM, when intake closes." in words(english)
    spanish = words(client.get(f"/referrals/{referral.id}/slip?lang=es").get_data(as_text=True))
    assert "cuando cierra la admisión." in spanish and "Se le guarda un lugar hasta" in spanish
    sms = unquote(re.search(r'href="sms:[^"]*body=([^"]+)"', english).group(1))
    assert "6:00 PM, when intake closes" in unescape(sms)


def test_without_readable_intake_times_the_hold_keeps_its_duration(client, session, shelter):
    made, code = shelter
    plain = claim(client, session, made["Unwritten Shelter"], code)
    assert plain.expires_at == EVENING + timedelta(hours=3)
    assert "when intake closes" not in client.get(f"/referrals/{plain.id}/slip").get_data(as_text=True)
    vague = claim(client, session, made["Vague Shelter"], code)
    assert vague.expires_at == EVENING + timedelta(hours=3)
    page = words(
        client.get(f"/referrals/check?service_id={made['Vague Shelter']}&participant={code}").data.decode()
    )
    assert "Intake times as the provider wrote them: ask. A hold lasts 3 hours" in page
