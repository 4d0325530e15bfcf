"""The case manager's and peer's pages, form errors and notices in Spanish (issue 23): pages read in the
reader's language, the API's error JSON keeps English, and a notice reads in its recipient's language."""

from __future__ import annotations

import html
import re
from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from directory.domain.access import Actor
from directory.domain.capacity_updates import update_capacity
from directory.domain.referrals import ReferralRequest, create_referral
from directory.extensions import db
from directory.jobs import JOBS, run_job
from directory.models import Notification, User
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_participant, make_service, make_token, make_user
from tests.smtp_server import SMTPServer
from tests.web.test_case_manager_pages import cm_world, login  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.db


def _text(page: str) -> str:
    """The words of the page's main content, tags stripped, entities read."""
    main = page.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)))


def test_the_check_reads_in_spanish_and_not_in_english(client, cm_world):  # noqa: F811
    url = f"/referrals/check?service_id={cm_world['busy']}&participant={cm_world['code']}"
    english = _text(client.get(url).get_data(True))
    client.set_cookie("lang", "es")
    page = client.get(url).get_data(True)
    # This page's own words, from the verdict's reasons on (the badge and outlook above them are the public
    # macros', marked with the public pages).
    spanish = _text('<main id="main">' + page.split('<ul class="reasons">', 1)[1])
    # The verdict: the displacement sentence (4 waiting), in Spanish with its number, and its English gone.
    assert "Would delay the 4 people on this program's waitlist" in english
    assert "Retrasaría a las 4 personas en la lista de espera de este programa" in spanish
    assert "Would delay" not in spanish and "waitlist" not in spanish
    # The buttons of the actions the check allows (override, join the waitlist), and the form's labels.
    assert re.search(r'value="join_waitlist"[^>]*>Anotar en la lista de espera</button>', page)
    assert re.search(r'value="override"[^>]*>Excepción \(desplaza a alguien\)</button>', page)
    assert "Join the waitlist" not in spanish and "Override (displaces someone)" not in spanish
    assert "Otras opciones que pueden recibir al participante ahora" in spanish
    assert "Alternatives that can take the participant now" not in spanish
    assert "Entiendo que esto retrasa a las 4 personas que esperan." in spanish
    # What people wrote or named stays as it is: the service's name.
    assert '<h1><a href="/services/' in page and "Busy Beds</a></h1>" in page


def test_the_check_form_problems_read_in_spanish(client, session, cm_world):  # noqa: F811
    client.set_cookie("lang", "es")
    form = {"service_id": cm_world["busy"], "participant": cm_world["code"], "action": "override"}
    refused = client.post("/referrals", data=form)
    assert refused.status_code == 400
    spanish = _text(refused.get_data(True))
    assert "Hay 3 problemas: no se envió nada." in spanish
    assert "Elija la razón de la excepción." in spanish
    assert "Choose the reason for the override." not in spanish and "There are 3 problems" not in spanish


def test_the_referral_page_reads_in_spanish(client, session, cm_world):  # noqa: F811
    made = client.post(
        "/referrals",
        data={"service_id": cm_world["spare"], "participant": cm_world["code"], "action": "claim"},
    )
    assert made.status_code == 302
    url = made.headers["Location"]
    english = _text(client.get(url).get_data(True))
    client.set_cookie("lang", "es")
    spanish = _text(client.get(url).get_data(True))
    assert "History" in english and "Cancel referral…" in english
    for words in (
        "Historial",
        "Cancelar el referido…",
        "Sí, cancelar este referido",
        "Se guarda un lugar hasta",
    ):
        assert words in spanish, words
    for words in ("History", "Cancel referral", "A unit is held until", "Numbers or listing wrong?"):
        assert words not in spanish, words
    assert "¿Los números o los datos están mal?" in spanish and "Spare Beds" in spanish


def test_a_form_error_reads_in_spanish_while_the_api_keeps_english(client, session, cm_world):  # noqa: F811
    text = "Write to me at someone@example.org about a room"  # an email address: refused by the screen
    headers = {"Authorization": f"Bearer {make_token(session, cm_world['cm'])}"}
    session.commit()
    client.set_cookie("lang", "es")
    page = client.post(f"/participants/{cm_world['code']}/goals", data={"domain": "housing", "text": text})
    assert page.status_code == 400
    error = re.search(
        r'<p class="form-error" role="alert" data-field="([^"]*)">([^<]*)</p>', page.get_data(True)
    )
    assert error.group(1) == "text"
    assert html.unescape(error.group(2)) == (
        "este texto parece tener un correo electrónico. Escríbalo sin nombres, fechas, datos de contacto "
        "ni de salud"
    )
    # The same bad input through the API, even asked for in Spanish: the contract's English message and code.
    answer = client.post(
        f"/api/v1/participants/{cm_world['code']}/goals",
        json={"domain": "housing", "text": text},
        headers={**headers, "Accept-Language": "es"},
    )
    assert answer.status_code == 400
    assert answer.get_json() == {
        "error": {
            "code": "invalid",
            "message": "this text seems to contain an email address; write it without names, dates, "
            "contact or health data",
            "field": "text",
        }
    }


def test_an_error_page_reads_in_spanish(client, cm_world):  # noqa: F811
    client.set_cookie("lang", "es")
    page = client.get("/referrals/999999")
    assert page.status_code == 404
    text = _text(page.get_data(True))
    assert "no existe el referido 999999" in text and "no referral 999999" not in text


def _held(app, session, cm, service):
    referral = create_referral(
        session,
        Actor.of(cm),
        service,
        make_participant(session, cm),
        ReferralRequest("claim"),
        FIXED_NOW,
        app.config["SITE"],
    )
    session.commit()
    return referral


def test_a_notice_reads_in_its_recipients_language_in_the_app_and_by_email(app, session):
    service = make_service(
        session,
        name="Night Beds",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
        **LOW_BARRIER,
    )
    spanish_cm = make_user(session, "case_manager", email="es@cm.example", language="es")
    english_cm = make_user(session, "case_manager", email="en@cm.example")
    provider = make_user(session, "provider", organization=service.organization)
    session.commit()
    held = {user.email: _held(app, session, user, service).id for user in (spanish_cm, english_cm)}
    with SMTPServer() as server:
        app.config["MAIL_URL"] = server.url
        with app.app_context():
            # Both holds are put at risk by the provider's new numbers: one notice to each case manager.
            update_capacity(db.session, Actor.of(provider), service.id, {"available": 0}, "api", FIXED_NOW)
            db.session.commit()
        # Two new-referral notices to the provider (English: no language chosen), two holds at risk.
        assert run_job(app, next(j for j in JOBS if j.name == "send_notifications"), "a", FIXED_NOW) == (
            "4 email(s) sent"
        )
        mails = {m["to"][0]: m["message"] for m in server.messages}
    session.rollback()
    stored = {
        n.user.email: n
        for n in session.scalars(select(Notification).where(Notification.kind == "hold_at_risk"))
    }
    spanish_subject, english_subject = "Lugar guardado en riesgo: Night Beds", "Hold at risk: Night Beds"
    spanish_body = (
        "Los últimos números del proveedor dejan menos lugares libres que los referidos que los tienen "
        "guardados. Es posible que no respeten su lugar guardado "
        f"(referido {held['es@cm.example']}): llame al proveedor."
    )
    english_body = (
        "The provider's latest numbers leave fewer free units than the referrals holding them. Your hold "
        f"(referral {held['en@cm.example']}) may not be honoured: call the provider."
    )
    assert (stored["es@cm.example"].subject, stored["es@cm.example"].body) == (spanish_subject, spanish_body)
    assert (stored["en@cm.example"].subject, stored["en@cm.example"].body) == (english_subject, english_body)
    assert str(make_header(decode_header(mails["es@cm.example"]["Subject"]))) == spanish_subject
    assert str(make_header(decode_header(mails["en@cm.example"]["Subject"]))) == english_subject
    spanish_mail = mails["es@cm.example"].get_payload(decode=True).decode()
    english_mail = mails["en@cm.example"].get_payload(decode=True).decode()
    assert spanish_body in spanish_mail and "Hold at risk" not in spanish_mail
    assert english_body in english_mail and "Lugar guardado" not in english_mail


def test_the_notices_page_reads_in_spanish(client, cm_world):  # noqa: F811
    client.set_cookie("lang", "es")
    text = _text(client.get("/notifications").get_data(True))
    assert "Marcar todo como leído" in text and "No hay avisos." in text
    assert "Mark all read" not in text and "No notifications." not in text


def test_the_account_language_is_kept_across_sign_ins(app, client, session):
    cm = make_user(session, "case_manager", password="correct horse battery")
    session.commit()
    signed_in = client.post("/login", data={"email": cm.email, "password": "correct horse battery"})
    assert signed_in.status_code == 302
    # The switch, signed in: the cookie and the account both remember Spanish.
    assert client.post("/language", data={"lang": "es", "next": "/account"}).status_code == 303
    session.expire_all()
    assert session.get(User, cm.id).language == "es"
    client.post("/logout")
    # A new browser (no cookie): signing in brings the account's language back.
    fresh_browser = app.test_client()
    assert fresh_browser.get("/login").get_data(True).count('lang="en"') >= 1
    again = fresh_browser.post("/login", data={"email": cm.email, "password": "correct horse battery"})
    assert again.status_code == 302
    assert fresh_browser.get_cookie("lang").value == "es"
    account = fresh_browser.get("/account").get_data(True)
    assert '<html lang="es"' in account and '<option value="es" lang="es" selected>' in account
    # The account page changes it back; the next notice would read in English.
    changed = fresh_browser.post("/account/language", data={"lang": "en"})
    assert changed.status_code == 303 and fresh_browser.get_cookie("lang").value == "en"
    session.expire_all()
    assert session.get(User, cm.id).language == "en"
    # A language without a catalog changes nothing.
    assert fresh_browser.post("/account/language", data={"lang": "xx"}).status_code == 400
    session.expire_all()
    assert session.get(User, cm.id).language == "en"


def test_the_slip_language_notice_reads_in_the_case_managers_language(client, cm_world):  # noqa: F811
    made = client.post(
        "/referrals",
        data={"service_id": cm_world["spare"], "participant": cm_world["code"], "action": "claim"},
    )
    slip = made.headers["Location"] + "/slip?lang=so"  # no Somali catalog: printed in English, with a notice
    assert "No Somali slip yet: printing in English." in client.get(slip).get_data(True)
    client.set_cookie("lang", "es")
    page = client.get(slip).get_data(True)
    assert "Todavía no hay hoja en somalí: se imprime en inglés." in page and "No Somali slip" not in page
