"""The provider's pages in Spanish (the lang cookie): dashboard, update form, inbox, details, upload and the
reminder link show the Spanish words and not their English; form errors and saved notes too; an upload sent
while the pages are in Spanish reads its English column names exactly as one sent in English."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from directory.links import make_confirm_token
from directory.models import ConfirmLink, Referral, Service, ServiceCapacity
from tests.conftest import FIXED_NOW, SECRET
from tests.factories import LOW_BARRIER, make_service, make_token, make_user, sign_in
from tests.harness import visible_text
from tests.web.test_case_manager_pages import cm_world, login  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.db


def world(session):
    beds = make_service(
        session,
        name="Harbor Beds",
        capacity={"maximum": 10, "available": 3, "waitlist": 1, "confirmed_at": None},
        **LOW_BARRIER,
    )
    annex = make_service(
        session,
        name="Annex Beds",
        organization=beds.organization,
        capacity={"maximum": 4, "available": 1, "waitlist": 0, "confirmed_at": None},
    )
    provider = make_user(session, "provider", organization=beds.organization, org_admin=True)
    session.commit()
    return beds, annex, provider


def spanish(client):
    client.set_cookie("lang", "es")


def text_of(response) -> str:
    return visible_text(response.get_data(as_text=True)).replace("\u202f", " ").replace("\xa0", " ")


def test_the_dashboard_reads_in_spanish(client, session):
    _, _, provider = world(session)
    sign_in(client, provider)
    spanish(client)
    page = text_of(client.get("/provider"))
    for words in (
        "Todos los números siguen bien",
        "Subir números (CSV)",
        "Cambiar los números",
        "Siguen bien",
    ):
        assert words in page
    assert (
        "Cambiar horario, teléfono, requisitos, aviso" in page
        and "Marcar como programa de la Parte 2" in page
    )
    for words in (
        "All numbers still correct",
        "Upload numbers",
        "Update numbers",
        "Still correct",
        "Edit hours",
    ):
        assert words not in page
    # The age of numbers nobody has confirmed, on the provider's own badge.
    assert "· nunca confirmado" in page and "· never confirmed" not in page


def test_the_dashboard_stays_english_without_the_cookie(client, session):
    _, _, provider = world(session)
    sign_in(client, provider)
    page = text_of(client.get("/provider"))
    assert "All numbers still correct" in page and "Todos los números siguen bien" not in page


def test_a_confirm_says_saved_in_spanish(client, session):
    beds, _, provider = world(session)
    sign_in(client, provider)
    spanish(client)
    answer = client.post(f"/provider/services/{beds.id}/confirm")
    assert answer.status_code == 302
    page = text_of(client.get(answer.headers["Location"]))
    assert "Guardado: los números quedan confirmados desde ahora." in page
    assert "Saved: the numbers are confirmed" not in page


def test_the_update_form_and_its_errors_read_in_spanish(client, session):
    beds, _, provider = world(session)
    sign_in(client, provider)
    spanish(client)
    form = text_of(client.get(f"/provider/services/{beds.id}"))
    for words in ("Guardar y confirmar", "Libres ahora", "Total de camas", "Personas en la lista de espera"):
        assert words in form
    assert "Cambios recientes" in form and "Descargar todo el historial (CSV)" in form
    for words in ("Save and confirm", "Free now", "Total beds", "People on the waitlist", "Recent changes"):
        assert words not in form
    bad = client.post(f"/provider/services/{beds.id}", data={"available": "12", "maximum": "10"})
    assert bad.status_code == 400
    page = text_of(bad)
    assert "Hay un problema: no se guardó nada." in page
    assert "Libres ahora no puede ser más que Total de camas." in page
    assert "cannot be more than" not in page and "nothing was saved" not in page
    unreadable = text_of(client.post(f"/provider/services/{beds.id}", data={"available": "x", "maximum": ""}))
    assert "Hay 2 problemas: no se guardó nada." in unreadable
    assert "Escriba Total de camas: un número entero de 0 a 100.000." in unreadable
    assert "Libres ahora debe ser un número entero de 0 a 100.000." in unreadable
    session.expire_all()
    assert session.get(ServiceCapacity, beds.capacity.id).available == 3  # nothing was saved


def test_a_field_report_reads_in_spanish_on_the_update_form(client, session):
    beds, _, provider = world(session)
    case_manager = make_user(session, "case_manager")
    headers = {"Authorization": f"Bearer {make_token(session, case_manager)}"}
    session.commit()
    made = client.post(
        f"/api/v1/services/{beds.id}/capacity/reports", json={"observed": "full"}, headers=headers
    )
    assert made.status_code == 201
    sign_in(client, provider)
    spanish(client)
    page = text_of(client.get(f"/provider/services/{beds.id}"))
    assert "Reportado: lleno, hace un momento, por un administrador de casos" in page
    assert "Reportes desde el terreno" in page and "Nuestros números están bien" in page
    assert "Reported" not in page and "by a case manager" not in page


def test_the_inbox_reads_in_spanish(client, session, cm_world):  # noqa: F811
    organization = session.get(Service, cm_world["spare"]).organization
    provider = make_user(session, "provider", organization=organization)
    session.commit()
    form = {"service_id": cm_world["spare"], "participant": cm_world["code"], "action": "claim"}
    assert client.post("/referrals", data=form).status_code == 302
    referral = session.scalar(select(Referral))
    login(client, provider)
    spanish(client)
    page = text_of(client.get("/provider/referrals"))
    for words in ("Referidos que llegan", "Aceptar", "Rechazar: ¿por qué?", "No hay lugar", "Otra razón"):
        assert words in page
    assert f"Referido {referral.id}" in page and "Administrador de casos: Case Manager Desk" in page
    assert "guardado hasta jue, 26 de nov, 10:00 a.m." in page  # the hold's end in the reader's language
    for words in (
        "Incoming referrals",
        "Accept",
        "Decline: why?",
        "No capacity",
        "held until",
        "Case manager:",
    ):
        assert words not in page
    # A decline without its reason: refused, and the page around the error is still Spanish.
    refused = client.post(f"/provider/referrals/{referral.id}/decline", data={})
    assert refused.status_code == 400 and "Referidos que llegan" in text_of(refused)


def test_details_and_their_error_label_read_in_spanish(client, session):
    beds, _, provider = world(session)
    sign_in(client, provider)
    spanish(client)
    page = text_of(client.get(f"/provider/services/{beds.id}/details"))
    assert "Quién puede recibir el servicio" in page and "Aviso que se muestra en la ficha" in page
    assert "Who is eligible" not in page and "Back to your services" not in page
    bad = client.post(f"/provider/services/{beds.id}/details", data={"phone": "12"})
    assert bad.status_code == 400 and "Teléfono:" in text_of(bad)


def test_staff_errors_read_in_spanish(client, session):
    _, _, provider = world(session)
    sign_in(client, provider)
    spanish(client)
    bad = client.post("/provider/staff", data={"action": "add", "email": "not-an-address"})
    assert bad.status_code == 400
    page = text_of(bad)
    assert "Escriba un correo electrónico válido." in page and "Give a valid email address." not in page


def test_the_reminder_link_reads_in_spanish(client, session):
    beds, _, _ = world(session)
    session.add(
        ConfirmLink(
            service_id=beds.id,
            nonce="nonce-spanish",
            reminder_key="k-es",
            created_at=FIXED_NOW,
            expires_at=FIXED_NOW + timedelta(days=1),
        )
    )
    session.commit()
    spanish(client)
    token = make_confirm_token(SECRET, "nonce-spanish")
    page = text_of(client.get(f"/confirm/{token}"))
    assert "Estos números siguen bien" in page and "Última confirmación: nunca confirmado." in page
    assert "These numbers are still correct" not in page
    done = text_of(client.post(f"/confirm/{token}"))
    assert "Gracias: los números quedan confirmados desde ahora." in done and "Thank you" not in done


CSV = "service_id,name,available,maximum,waitlist\n{beds},Harbor Beds,2,12,unknown\n999999,Nowhere,1,,\n"


def upload(client, text: str, step: str):
    data = {"step": step, "file": (io.BytesIO(text.encode()), "numbers.csv")}
    return client.post("/provider/upload", data=data, content_type="multipart/form-data")


def numbers(session, service) -> tuple:
    session.expire_all()
    row = session.get(ServiceCapacity, service.capacity.id)
    return row.available, row.maximum, row.waitlist


def test_an_upload_sent_in_spanish_reads_the_same_columns(client, session):
    beds, annex, provider = world(session)
    sign_in(client, provider)
    english = text_of(upload(client, CSV.format(beds=beds.id), "preview"))
    assert "Preview: 1 service would be updated (nothing saved yet), 1 row refused" in english
    spanish(client)
    html = client.get("/provider/upload").get_data(as_text=True)
    # The instructions are Spanish; the column names and the word "unknown" stay the file's own.
    assert "Deje los nombres de las columnas en inglés" in html
    for code in ("service_id", "name", "available", "maximum", "waitlist", "unknown"):
        assert f"<code>{code}</code>" in html
    preview = text_of(upload(client, CSV.format(beds=beds.id), "preview"))
    assert "Vista previa: se cambiaría 1 servicio (todavía no se guardó nada), 1 fila rechazada" in preview
    assert "no es un servicio de su organización: rechazada" in preview
    assert "would be updated" not in preview and "not a service your organization runs" not in preview
    assert numbers(session, beds) == (3, 10, 1)  # a preview saves nothing
    applied = text_of(upload(client, CSV.format(beds=beds.id), "apply"))
    assert "Guardado: se cambió 1 servicio, 1 fila rechazada" in applied
    # The same numbers an English upload gives: 2 free of 12, waitlist unknown.
    assert numbers(session, beds) == (2, 12, None)
    assert numbers(session, annex) == (1, 4, 0)


def test_a_bad_file_in_spanish_changes_nothing(client, session):
    beds, _, provider = world(session)
    sign_in(client, provider)
    spanish(client)
    bad = upload(client, "id,libres\n1,2\n", "apply")
    assert bad.status_code == 400
    assert "No se cambió nada." in text_of(bad) and "Nothing was changed." not in text_of(bad)
    assert numbers(session, beds) == (3, 10, 1)
