"""The language a page is read in: the switch on every page, the browser's Accept-Language, the site's
default; right-to-left catalogs; slips only in reviewed languages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from directory.models import Referral
from tests.conftest import FIXED_NOW, make_app
from tests.factories import compiled_catalog
from tests.web.test_case_manager_pages import cm_world, login  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.db

NAV_EN = ("Search", "Transparency", "Sign in")
NAV_ES = ("Buscar", "Transparencia", "Entrar")


def _nav(page: str) -> list[str]:
    header = page.split("<header", 1)[1].split("</header>", 1)[0]
    return re.findall(r">([^<>]+)</(?:a|button)>", header)


def _html_tag(page: str) -> str:
    """The page's language and direction, as its <html> tag gives them (other attributes left out)."""
    tag = re.search(r"<html[^>]*>", page).group(0)
    lang, direction = re.search(r'lang="([^"]*)"', tag).group(1), re.search(r'dir="([^"]*)"', tag).group(1)
    return f'<html lang="{lang}" dir="{direction}">'


def test_the_browser_language_is_used_when_the_reader_chose_none(client):
    spanish = client.get("/search", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}).get_data(True)
    english = client.get("/search", headers={"Accept-Language": "fr, en;q=0.8"}).get_data(True)
    assert _html_tag(spanish) == '<html lang="es" dir="ltr">'
    assert _html_tag(english) == '<html lang="en" dir="ltr">'
    assert set(NAV_ES) <= set(_nav(spanish)) and not set(NAV_EN) & set(_nav(spanish))
    assert set(NAV_EN) <= set(_nav(english))
    # Each page offers the other language, named in itself.
    assert ">Español</button>" in english and ">English</button>" in spanish


def test_the_switch_remembers_the_choice_over_the_browser(client):
    response = client.post("/language", data={"lang": "es", "next": "/search?near=98104&category=housing"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/search?near=98104&category=housing"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=es;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/search", headers={"Accept-Language": "en"}).get_data(True)
    assert _html_tag(page) == '<html lang="es" dir="ltr">' and "Buscar" in _nav(page)
    client.post("/language", data={"lang": "en", "next": "/search"})
    assert "Search" in _nav(client.get("/search", headers={"Accept-Language": "es"}).get_data(True))


@pytest.mark.parametrize(
    ("form", "location"),
    [
        ({"lang": "es", "next": "//elsewhere.example/x"}, "/search"),  # never another site
        ({"lang": "es", "next": "https://elsewhere.example/"}, "/search"),
        ({"lang": "es", "next": "/search\r\nSet-Cookie: x=1"}, "/search"),
        ({"lang": "es"}, "/search"),
    ],
)
def test_the_switch_goes_back_only_to_this_site(client, form, location):
    response = client.post("/language", data=form)
    assert response.status_code == 303 and response.headers["Location"] == location


@pytest.mark.parametrize("code", ["xx", "", "es" * 300, "../../etc", "so"])  # so: listed, no catalog yet
def test_a_language_without_a_catalog_changes_nothing(client, code):
    response = client.post("/language", data={"lang": code, "next": "/search"})
    assert response.status_code == 303 and "Set-Cookie" not in response.headers
    assert _html_tag(client.get("/search").get_data(True)) == '<html lang="en" dir="ltr">'


def test_the_switch_needs_no_session_and_no_token(database_url):
    app = make_app(database_url, WTF_CSRF_ENABLED=True, CLOCK=lambda: FIXED_NOW)
    client = app.test_client()
    page = client.get("/search").get_data(True)
    switch = page.split('action="/language"', 1)[1].split("</form>", 1)[0]
    assert "csrf_token" not in switch  # a public page a worker may cache carries no token for it
    response = client.post("/language", data={"lang": "es", "next": "/search"})
    assert response.status_code == 303 and response.headers["Set-Cookie"].startswith("lang=es;")


def test_a_bad_cookie_is_ignored(client):
    client.set_cookie("lang", "<script>")
    page = client.get("/search", headers={"Accept-Language": "es"}).get_data(True)
    assert _html_tag(page) == '<html lang="es" dir="ltr">' and "<script>" not in _html_tag(page)


def test_a_right_to_left_catalog_turns_the_page(database_url, tmp_path):
    # A small Arabic catalog of our own making: the page's direction comes from the language, not the words.
    compiled_catalog(tmp_path, "ar", "# test catalog", {"Search": "بحث", "Transparency": "الشفافية"})
    app = make_app(database_url, TRANSLATIONS_DIR=str(tmp_path), CLOCK=lambda: FIXED_NOW)
    page = app.test_client().get("/search", headers={"Accept-Language": "ar"}).get_data(True)
    assert _html_tag(page) == '<html lang="ar" dir="rtl">'
    assert "بحث" in _nav(page) and "الشفافية" in _nav(page)
    assert "Sign in" in _nav(page)  # a word the catalog lacks stays in the source language, never blank


def test_slips_are_offered_only_in_reviewed_languages(database_url, tmp_path, session):
    compiled_catalog(
        tmp_path, "es", "# Reviewed-By: R. Eviewer\n# Review-Date: 2026-11-20", {"Print": "Imprimir"}
    )
    compiled_catalog(tmp_path, "so", "# nobody has reviewed this yet", {"Print": "Daabac"})
    app = make_app(database_url, TRANSLATIONS_DIR=str(tmp_path), CLOCK=lambda: FIXED_NOW)
    client = app.test_client()
    with app.app_context():
        from directory.extensions import db

        world = cm_world.__wrapped__(db.session, client)
        form = {"service_id": world["spare"], "participant": world["code"], "action": "claim"}
        assert client.post("/referrals", data=form).status_code == 302
        referral_id = db.session.scalar(select(Referral.id))
    page = client.get(f"/referrals/{referral_id}").get_data(True)
    assert "Soomaali (in English for now)" in page and "Español (in English for now)" not in page
    somali = client.get(f"/referrals/{referral_id}/slip?lang=so").get_data(True)
    spanish = client.get(f"/referrals/{referral_id}/slip?lang=es").get_data(True)
    assert "No Somali slip yet: printing in English." in somali and "Daabac" not in somali
    assert "data-print>Imprimir</button>" in spanish and '<html lang="es" dir="ltr">' in spanish


def test_the_case_manager_reads_the_plan_and_participants_in_spanish(client, session, cm_world):  # noqa: F811
    for text in ("Find a shelter bed this week", "See a doctor about my feet"):
        response = client.post(
            f"/participants/{cm_world['code']}/goals", data={"domain": "housing", "text": text}
        )
        assert response.status_code in (302, 303)
    client.set_cookie("lang", "es")
    plan = client.get(f"/participants/{cm_world['code']}").get_data(True)
    listing = client.get("/participants").get_data(True)
    assert "<h2>Plan de intervención individual</h2>" in plan and "Agregar una meta" in plan
    assert "Individual Intervention Plan" not in plan and "Add a goal" not in plan
    assert f"{cm_world['code']}</strong></a>" in listing and " · 2 metas</li>" in listing
    assert "goal(s)" not in listing and "Crear participante" in listing
    # The participant's own words are theirs: never translated.
    assert "Find a shelter bed this week" in plan
    client.set_cookie("lang", "en")
    assert " · 2 goals</li>" in client.get("/participants").get_data(True)


def test_the_switch_never_echoes_a_staff_page_query(client, session, cm_world):  # noqa: F811
    page = client.get(f"/referrals/check?service_id={cm_world['spare']}&participant={cm_world['code']}")
    assert page.status_code == 200
    switch = page.get_data(True).split('action="/language"', 1)[1].split("</form>", 1)[0]
    assert 'name="next" value="/referrals/check"' in switch and cm_world["code"] not in switch
    search = client.get("/search?near=98104&category=housing").get_data(True)
    assert 'name="next" value="/search?near=98104&amp;category=housing"' in search
