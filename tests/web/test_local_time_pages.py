"""What people read says the site's local time, never UTC: the referral page, the slip (English and Spanish),
the provider's inbox and the notice; the API keeps ISO 8601 in UTC."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory.models import Notification, Referral, Service
from tests.factories import make_user
from tests.web.test_case_manager_pages import cm_world, login  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.db

# FIXED_NOW is Tuesday 24 November 2026, 18:00 UTC; a bed is held 48 hours: until Thursday 26 November,
# 18:00 UTC, which is 10:00 in Seattle (PST, UTC-8). Written out here, not computed by the code under test.
ENDS_EN = "Thu, Nov 26, 10:00"
ENDS_ES = "jue, 26 de nov, 10:00"


def _held(client, session, world) -> Referral:
    form = {"service_id": world["spare"], "participant": world["code"], "action": "claim"}
    assert client.post("/referrals", data=form).status_code == 302
    return session.scalar(select(Referral))


def _text(response) -> str:
    return response.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")


def test_the_referral_page_and_slips_give_the_hold_in_local_time(client, session, cm_world):  # noqa: F811
    referral = _held(client, session, cm_world)
    page = _text(client.get(f"/referrals/{referral.id}"))
    assert f"held until {ENDS_EN} AM" in page and "in 2 days" in page
    english = _text(client.get(f"/referrals/{referral.id}/slip"))
    spanish = _text(client.get(f"/referrals/{referral.id}/slip?lang=es"))
    assert f"A place is kept for you until {ENDS_EN} AM." in english
    assert f"Se le guarda un lugar hasta {ENDS_ES} a.m.</strong>" in spanish  # one period, not two
    for text in (page, english, spanish):
        assert "UTC" not in text and "18:00" not in text


def test_the_providers_inbox_and_notice_give_local_time(client, session, cm_world):  # noqa: F811
    organization = session.get(Service, cm_world["spare"]).organization
    provider = make_user(session, "provider", organization=organization)
    session.commit()
    _held(client, session, cm_world)
    notice = session.scalar(select(Notification).where(Notification.kind == "referral_new"))
    assert notice.user_id == provider.id
    assert f"held until {ENDS_EN} AM." in notice.body and "UTC" not in notice.body
    login(client, provider)
    inbox = _text(client.get("/provider/referrals"))
    assert f"held until {ENDS_EN} AM" in inbox and "UTC" not in inbox


def test_the_api_keeps_iso_8601_in_utc(client, session, cm_world):  # noqa: F811
    referral = _held(client, session, cm_world)
    body = client.get(f"/api/v1/referrals/{referral.id}").get_json()
    assert body["expires_at"] == "2026-11-26T18:00:00Z"


def test_the_slip_prints_what_is_needed_at_the_door_and_says_when_its_language_is_missing(
    client,
    session,
    cm_world,  # noqa: F811
):
    from urllib.parse import unquote

    service = session.get(Service, cm_world["spare"])
    service.intake_times, service.curfew = "Walk in 6-9 PM", "10 PM"
    session.commit()
    referral = _held(client, session, cm_world)
    english = _text(client.get(f"/referrals/{referral.id}/slip"))
    assert "<dt>Intake</dt><dd>Walk in 6-9 PM</dd>" in english and "<dt>Curfew</dt><dd>10 PM</dd>" in english
    sms = unquote(english.split('href="sms:?&amp;body=', 1)[1].split('"', 1)[0])
    assert sms.splitlines()[0] == "Spare Beds" and f"Held until: {ENDS_EN} AM" in sms
    somali = _text(client.get(f"/referrals/{referral.id}/slip?lang=so"))
    assert "No Somali slip yet: printing in English." in somali and "A place is kept for you until" in somali
    spanish = _text(client.get(f"/referrals/{referral.id}/slip?lang=es"))
    assert "En palabras del proveedor:" in spanish and "<dt>Admisión</dt>" in spanish
    assert "En palabras del proveedor" not in english and "No Somali" not in english


def test_the_referral_page_offers_every_slip_language_the_site_lists(client, session, cm_world):  # noqa: F811
    referral = _held(client, session, cm_world)
    page = _text(client.get(f"/referrals/{referral.id}"))
    # The demo site file lists English, then Spanish, Somali and Vietnamese (each named in itself).
    for code, label in (("en", "English"), ("es", "Español"), ("so", "Soomaali"), ("vi", "Tiếng Việt")):
        assert f'slip?lang={code}" lang="{code}">Print slip: {label}' in page
    assert "Soomaali (in English for now)" in page and "Español (in English for now)" not in page
