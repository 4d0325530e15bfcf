"""The public pages in Spanish (issue 23): the search, a service's page and the transparency page read with
the `lang` cookie say their words, labels, hours and sentences in Spanish and none of the English; in English
the reverse; provider text stays as written and escaped; the map's and the offline script's words come from
the page; every page says its language for caches."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta
from html import unescape

import pytest

from directory.domain import capacity as cap
from directory.domain.access import SYSTEM
from directory.domain.clock import SiteClock
from directory.domain.transparency import publish_closed
from directory.models import Phone, Referral
from tests.conftest import FIXED_NOW
from tests.factories import make_participant, make_service, make_user

pytestmark = pytest.mark.db

# FIXED_NOW is Tuesday 24 November 2026, 10:00 in Seattle: a Friday-only service opens in 3 days.
FRIDAY = (("FR", time(9), time(17)),)
HOSTILE = '<b>Casa & "Sol"</b>'
THREE_HOURS_AGO = FIXED_NOW - timedelta(hours=3)


def read(client, path: str, lang: str) -> str:
    client.set_cookie("lang", lang)
    return client.get(path).get_data(as_text=True)


def text_of(html: str) -> str:
    """The page's text as read (tags out, entities decoded, scripts and styles dropped)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def spare(session):
    service = make_service(
        session,
        name="Harbor Beds",
        schedules=FRIDAY,
        capacity={"unit_id": "bed", "maximum": 6, "available": 2, "waitlist": 0, "confirmed_at": FIXED_NOW},
    )
    session.add(Phone(service_id=service.id, number="206-555-0101"))
    session.commit()
    return service


def test_the_search_page_in_spanish_says_only_spanish_words(client, spare):
    page = read(client, "/search?q=harbor", "es")
    words = text_of(page)
    row = re.search(rf'id="result-{spare.id}".*?</li>', page, re.S).group(0)
    assert '<button type="submit" class="primary">Buscar</button>' in page
    assert "Palabras clave" in words and "Necesidad" in words and "Solo" in words
    assert 'placeholder="p. ej., albergue, metadona, identificación"' in page
    # The label, the age, the hours with the day's Spanish name, the call link: all in Spanish.
    assert "Lugar que sobra" in text_of(row) or "2 camas libres" in text_of(row)
    assert "Cerrado · abre vie 09:00" in text_of(row)
    assert "Llame al 206-555-0101" in text_of(row)
    assert "1 servicio" in words
    # The shipped taxonomy's needs and populations, and the languages (Babel's names), in Spanish too.
    assert ">Vivienda</option>" in page and ">Mujeres</option>" in page and ">Vietnamita</option>" in page
    assert ">Housing</option>" not in page and ">Vietnamese</option>" not in page
    for english in ("Keywords", ">Search</button>", "Spare capacity", "Closed · opens", "Fri ", "Call 206"):
        assert english not in page, english
    assert "1 service" not in words and "Refer (check first)" not in words


def test_the_search_page_in_english_says_none_of_the_spanish(client, spare):
    page = read(client, "/search?q=harbor", "en")
    words = text_of(page)
    row = text_of(re.search(rf'id="result-{spare.id}".*?</li>', page, re.S).group(0))
    assert '<button type="submit" class="primary">Search</button>' in page
    assert "Closed · opens Fri 09:00" in row and "Call 206-555-0101" in row
    for spanish in ("Buscar</button>", "Palabras clave", "Cerrado", "Llame al", "vie 09:00", "libres"):
        assert spanish not in page, spanish
    assert "1 service" in words
    assert ">Housing</option>" in page and ">Women</option>" in page and ">Vietnamese</option>" in page


def test_the_status_label_and_its_age_follow_the_page_language(client, session):
    full = make_service(
        session,
        name="Full House",
        capacity={
            "maximum": 4,
            "available": 0,
            "waitlist": 0,
            "confirmed_at": FIXED_NOW - timedelta(hours=3),
        },
    )
    session.commit()
    spanish = text_of(read(client, f"/services/{full.id}", "es"))
    english = text_of(read(client, f"/services/{full.id}", "en"))
    assert "Lleno · hace 3 h" in spanish and "Full · 3 h ago" not in spanish
    assert "Full · 3 h ago" in english and "Lleno" not in english


def test_a_service_page_in_spanish(client, spare):
    page = read(client, f"/services/{spare.id}", "es")
    words = text_of(page)
    assert '<th scope="row">viernes</th>' in page and "Friday" not in page
    assert "Dónde y cómo" in words and "Horario" in words and "Detalles" in words
    assert "Imprimir esta página" in words
    # The one sentence of what a new referral gets (public: without figures, so "1 cama que sobra").
    assert "Un referido nuevo recibe 1 cama que sobra" in words
    for english in ("Where and how", "Print this page", "A new referral", "Hours</h2>", "Spare capacity"):
        assert english not in page, english
    english_page = read(client, f"/services/{spare.id}", "en")
    assert '<th scope="row">Friday</th>' in english_page
    assert "A new referral gets a spare bed" in text_of(english_page)
    assert "viernes" not in english_page and "Un referido" not in english_page


def test_provider_text_stays_as_written_and_escaped_on_a_spanish_page(client, session):
    hostile = make_service(session, name=HOSTILE, organization=None, description=HOSTILE)
    hostile.organization.name = HOSTILE
    session.commit()
    for path in ("/search?q=casa", f"/services/{hostile.id}"):
        page = read(client, path, "es")
        assert "<b>Casa" not in page, path
        assert (
            "&lt;b&gt;Casa &amp; &#34;Sol&#34;&lt;/b&gt;" in page
            or "&lt;b&gt;Casa &amp; &quot;Sol&quot;" in page
        )
        assert HOSTILE in text_of(page)  # read as the provider wrote it, not translated


def test_the_transparency_page_in_spanish_with_its_labels(app, client, session):
    cm = make_user(session)
    service = make_service(session)
    at = datetime(2026, 10, 10, 18, tzinfo=UTC)
    for classification, action, state in [(cap.OPEN_ACCESS, "request", "requested")] * 8 + [
        (cap.FULL, "join_waitlist", "waitlisted")
    ] * 6:
        session.add(
            Referral(
                service_id=service.id,
                participant_id=make_participant(session, cm).id,
                action=action,
                classification=classification,
                state=state,
                hold="none",
                created_at=at,
                created_by=cm.id,
                domain="housing",
            )
        )
    session.commit()
    publish_closed(session, SYSTEM, SiteClock("America/Los_Angeles"), "month")
    session.commit()
    spanish = text_of(read(client, "/transparency", "es"))
    english = text_of(read(client, "/transparency", "en"))
    assert "Cómo se hacen los referidos" in spanish and "How referrals are made" not in spanish
    assert "Referidos según lo que encontró la revisión" in spanish
    # The codes' labels in Spanish: "Lleno" 6, "Entrada libre" 8; the domain as the site names it.
    assert "Lleno 6" in spanish and "Entrada libre 8" in spanish
    assert "Full 6" not in spanish and "Open access" not in spanish
    assert "Full 6" in english and "Open access 8" in english and "Lleno" not in english
    assert "tasa de desplazamiento" in spanish and "displacement rate" in english


def test_an_empty_transparency_page_in_spanish(client):
    page = text_of(read(client, "/transparency", "es"))
    assert "Todavía no se ha publicado ningún período: cada mes aparece aquí cuando termina." in page
    assert "No period has been published" not in page


def test_the_map_and_the_offline_script_get_their_words_from_the_page(client, spare):
    page = read(client, "/search?q=harbor", "es")
    markers = json.loads(unescape(re.search(r"data-markers='([^']*)'", page).group(1)))
    assert markers["words"]["check"] == "Revisar referido"
    assert markers["words"]["numbers"] == "números de %(age)s"
    assert {s["code"]: s["label"] for s in markers["statuses"]}["full"] == "Lleno"
    assert {s["code"]: s["text"] for s in markers["statuses"]}["spare_capacity"] == "Libre"
    assert "No pide identificación" in markers["badges"]
    assert 'data-offline-words="El mapa necesita conexión.' in page
    offline = json.loads(
        re.search(r'<script type="application/json" id="offline-words"[^>]*>(.*?)</script>', page).group(1)
    )
    assert offline["needs_connection"] == "Necesita conexión." and offline["h_ago"] == "hace %(num)s h"
    assert 'data-denied="La ubicación está apagada' in page
    english = read(client, "/search?q=harbor", "en")
    english_markers = json.loads(unescape(re.search(r"data-markers='([^']*)'", english).group(1)))
    assert english_markers["words"]["check"] == "Check referral"


def test_the_offline_page_in_spanish(client):
    page = read(client, "/offline", "es")
    assert "<h1>Sin conexión</h1>" in page and "No connection" not in page
    assert "<h1>No connection</h1>" in read(client, "/offline", "en")


def test_pages_say_their_language_and_that_it_varies(client):
    for lang in ("es", "en"):
        client.set_cookie("lang", lang)
        response = client.get("/search")
        assert response.headers["Content-Language"] == lang
        assert {"Cookie", "Accept-Language"} <= set(response.vary)
    # The API keeps its codes and English: no language of its own.
    client.set_cookie("lang", "es")
    assert "Content-Language" not in client.get("/api/v1/services").headers


def test_the_label_filter_translates_at_render_time(app):
    from directory.web.labels import day_name, label

    with app.test_request_context(headers={"Cookie": "lang=es"}):
        assert label("full", "classification") == "Lleno"
        assert label("safety", "reason") == "Seguridad"
        assert label("fewer than 5", "published") == "menos de 5"
        assert label(None, "reason") == "No anotado"
        assert day_name("-1FR") == "último viernes del mes"
    with app.test_request_context():
        assert label("full", "classification") == "Full"
        assert day_name("2TU") == "2nd Tuesday of the month"


def test_a_search_error_names_its_field_in_the_page_language(client):
    client.set_cookie("lang", "es")
    response = client.get("/search?near=98104&radius_km=-3")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<strong>A menos de (km):</strong>" in page and "<strong>radius_km:</strong>" not in page
