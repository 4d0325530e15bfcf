"""The project manager's and admin's pages in Spanish (issue 23): the audit dashboard, its charts' legends,
the monthly report, the report for the policy group, imports, who looked, and the admin's accounts show the
catalog's Spanish and not the English; the same pages still read in English without the choice."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

import pytest

from directory.domain.access import Actor
from directory.domain.capacity_updates import update_capacity
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, make_service, make_user, sign_in

pytestmark = pytest.mark.db


def _text(page: str) -> str:
    """What a person reads: the page without its tags, scripts and styles, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


def _in_spanish(client, path: str) -> str:
    client.set_cookie("lang", "es")
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _in_english(client, path: str) -> str:
    client.set_cookie("lang", "en")
    return client.get(path).get_data(as_text=True)


@pytest.fixture
def manager(client, session):
    """A project manager signed in, with one service, one confidential service and a baseline flag."""
    service = make_service(session, capacity={"maximum": 10, "available": 4, "waitlist": 0}, **LOW_BARRIER)
    make_service(
        session,
        name="Quiet Safe House",
        confidential=True,
        capacity={"maximum": 8, "available": 1, "confirmed_at": FIXED_NOW - timedelta(days=9)},
    )
    admin, pm = make_user(session, "admin"), make_user(session, "project_manager")
    bought = {"lead_funded_maximum": 4, "lead_funded_available": 4}
    update_capacity(session, Actor.of(admin), service.id, bought, "web", FIXED_NOW - timedelta(days=80))
    fell = {"maximum": 7, "available": 3}
    update_capacity(session, Actor.of(admin), service.id, fell, "web", FIXED_NOW - timedelta(days=40))
    session.commit()
    sign_in(client, pm)
    return pm


# Samples of each page: (Spanish it must show, English it must not). Words shared by both languages
# ("Total", "Error") are left out: they would prove nothing.
DASHBOARD = [
    ("Auditoría de desplazamientos", "Displacement audit"),
    ("Últimos 7 días", "Last 7 days"),
    ("El mes pasado", "Last month"),
    ("Mostrar el mes", "Show the month"),
    (
        "Referidos por clasificación y por lo que se hizo, cada semana",
        "Referrals by classification and action",
    ),
    ("Tasa de desplazamiento: 0 excepciones de 0 referidos", "Displacement rate:"),
    ("Desplazamiento evitable", "Avoidable displacement"),
    ("Ahora por debajo de su nivel de base", "Below their baseline now"),
    ("Necesidad sin cubrir por área", "Unmet need by domain"),
    ("Revisar ahora", "Verify now"),
    ("Todavía no se revisó", "Not checked yet"),
    ("Todavía no hay importaciones.", "No imports yet."),
    ("Servicios confidenciales (juntos)", "Confidential services (merged)"),
    ("noviembre de 2026", "November 2026"),
]


def test_the_audit_dashboard_reads_in_spanish(client, manager):
    page = _in_spanish(client, "/pm")
    text = _text(page)
    assert '<html lang="es"' in page
    for spanish, english in DASHBOARD:
        assert spanish in text, spanish
        assert english not in text, english
    # Attributes people hear read out are Spanish too.
    assert 'aria-label="Tabla (en una pantalla angosta se mueve de lado)"' in page
    assert "scrolls sideways" not in page
    # The same page without the choice: English, as before.
    english = _text(_in_english(client, "/pm"))
    for spanish, words in DASHBOARD[:4]:
        assert words in english and spanish not in english


def test_the_charts_legends_and_titles_are_spanish(client, manager):
    page = _in_spanish(client, "/pm")
    weekly = next(
        svg for svg in re.findall(r"<svg\b.*?</svg>", page, flags=re.S) if "Referidos por semana" in svg
    )
    assert 'aria-label="Referidos por semana, por clasificación"' in weekly
    # Every classification in the legend, with its badge's symbol, in Spanish and whole.
    for symbol, words in [
        ("★", "Lugar de LEAD libre"),
        ("⚠", "Lista de espera: desplazaría a otros"),
        ("?", "Sin confirmar: llame antes"),
        ("○", "Entrada libre"),
    ]:
        assert f">{symbol} {words}</text>" in weekly, words
    for english in ("LEAD-funded unit free", "Waitlist: would displace", "Open access", "per week"):
        assert english not in weekly
    titles = re.findall(r'<svg[^>]*aria-label="([^"]*)"', page)
    assert "Excepciones por razón" in titles and "Necesidad sin cubrir por área (participantes)" in titles
    assert not [t for t in titles if "by " in t]


def test_the_monthly_report_reads_in_spanish(client, manager):
    text = _text(_in_spanish(client, "/pm/report?month=2026-10"))
    for spanish in (
        "informe mensual, octubre de 2026",
        "del 1 de octubre de 2026 al 31 de octubre de 2026",
        "Imprimir",
        "Aviso (42 CFR parte 2):",
        "Excepciones por razón",
    ):
        assert spanish in text, spanish
    for english in ("monthly report", "October", "Print", "No case-manager names", "Overrides by reason"):
        assert english not in text, english


def test_the_partner_report_reads_in_spanish(client, manager):
    text = _text(_in_spanish(client, "/pm/partner-report"))
    # The simulated clock stands in late November: the latest month that has ended is October.
    for spanish in (
        "informe para el grupo de políticas, octubre de 2026",
        "Solo cuentas, de un mes que ya terminó.",
        "Tasa de desplazamiento: sin referidos",
        "Referidos según lo que encontró la revisión",
        "Excepciones según si se podían evitar",
        "Colocaciones según si la revisión las midió",
    ):
        assert spanish in text, spanish
    for english in (
        "report for the policy group",
        "Counts only",
        "no referrals",
        "Referrals by need",
        "Print",
    ):
        assert english not in text, english


def test_the_import_and_access_pages_read_in_spanish(client, manager):
    runs = _text(_in_spanish(client, "/pm/imports"))
    assert "Importaciones" in runs and "Volver al panel de auditoría" in runs
    assert "Import runs" not in runs and "Back to the audit dashboard" not in runs
    freshness = _text(_in_spanish(client, "/pm/freshness"))
    assert "Datos al día" in freshness and "Servicios confidenciales (juntos)" in freshness
    assert "Data freshness" not in freshness and "Quiet Safe House" not in freshness
    client.set_cookie("lang", "es")
    missing = client.get("/pm/participant-reads?code=P-NOBODY")
    assert missing.status_code == 404
    text = _text(missing.get_data(as_text=True))
    assert "Ningún participante tiene el código P-NOBODY" in text and "No participant has" not in text


def test_the_admins_accounts_read_in_spanish(client, session):
    admin, other = make_user(session, "admin"), make_user(session, "case_manager")
    session.commit()
    sign_in(client, admin)
    text = _text(_in_spanish(client, "/admin/accounts"))
    for spanish in ("Cuentas", "Salir en todos lados", "Desactivar", "activa", "administrador de casos"):
        assert spanish in text, spanish
    for english in ("Lost phone", "Deactivate", "Sign out everywhere", "case manager", " active "):
        assert english not in text, english
    answer = client.post(f"/admin/accounts/{other.id}/sign-out-everywhere", follow_redirects=True)
    text = _text(answer.get_data(as_text=True))
    assert f"Se cerraron todas las sesiones de {other.email}. Se anularon 0 claves de la API." in text
    assert "Every session of" not in text
