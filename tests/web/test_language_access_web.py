"""'Staff speak it / interpreter on request' in the API, the search form, the service page and the provider's
details page: what each shows in English and Spanish, and bad input refused with nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory.models import AuditEvent, Language, Organization
from tests.factories import make_service, make_user, sign_in
from tests.harness import visible_text
from tests.web.test_api import assert_error

pytestmark = pytest.mark.db


def _two(session):
    """A service whose staff speak Spanish and one that offers Spanish through an interpreter."""
    staff = make_service(session, name="Staff Spanish", languages=("en", "es"))
    interpreter = make_service(session, name="Phone Spanish", languages=("en",), interpreted=("es",))
    session.commit()
    return staff, interpreter


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("language=es&language_access=interpreter", "language_access must be staff or any"),
        ("language=es&language_access=yes", "language_access must be staff or any"),
        ("language_access=staff", "language_access=staff needs a language"),
    ],
)
def test_a_bad_language_access_is_a_400_naming_the_field(client, query, message):
    body = assert_error(client.get("/api/v1/services?" + query), 400, "language_access")
    assert body["error"]["message"] == message


def test_the_api_filters_and_each_language_carries_its_access(client, session):
    staff, interpreter = _two(session)
    only_staff = client.get("/api/v1/services?language=es&language_access=staff").get_json()
    either = client.get("/api/v1/services?language=es").get_json()
    assert [item["id"] for item in only_staff["items"]] == [staff.id]
    assert sorted(item["id"] for item in either["items"]) == sorted([staff.id, interpreter.id])
    detail = client.get(f"/api/v1/services/{interpreter.id}").get_json()
    assert detail["languages"] == [
        {"code": "en", "name": "en", "access": "staff"},
        {"code": "es", "name": "es", "access": "interpreter"},
    ]


def test_the_spanish_search_page_shows_the_control_in_spanish(client):
    client.set_cookie("lang", "es")
    spanish = visible_text(client.get("/search").get_data(as_text=True))
    assert "El personal lo habla" in spanish and "El personal o un intérprete si lo pide" in spanish
    assert "Staff speak it" not in spanish and "interpreter on request" not in spanish
    client.set_cookie("lang", "en")
    english = visible_text(client.get("/search").get_data(as_text=True))
    assert "Staff speak it" in english and "Staff or interpreter on request" in english
    assert "El personal lo habla" not in english


def test_the_search_page_keeps_the_choice_and_filters(client, session):
    _two(session)
    page = client.get("/search?language=es&language_access=staff").get_data(as_text=True)
    assert '<option value="staff" selected>' in page
    assert "Staff Spanish" in page and "Phone Spanish" not in page
    assert "Phone Spanish" in client.get("/search?language=es&language_access=any").get_data(as_text=True)


def test_the_service_page_says_interpreter_on_request_only_where_so(client, session):
    staff, interpreter = _two(session)
    interpreted = visible_text(client.get(f"/services/{interpreter.id}").get_data(as_text=True))
    spoken = visible_text(client.get(f"/services/{staff.id}").get_data(as_text=True))
    assert "Spanish (interpreter on request)" in interpreted
    assert "English (interpreter on request)" not in interpreted
    assert "interpreter on request" not in spoken
    client.set_cookie("lang", "es")
    spanish = visible_text(client.get(f"/services/{interpreter.id}").get_data(as_text=True))
    assert "Español (intérprete si lo pide)" in spanish and "interpreter on request" not in spanish


def _provider_world(session):
    org = Organization(name="Language Org")
    service = make_service(session, organization=org, languages=("en", "es"))
    provider = make_user(session, "provider", organization=org)
    outsider = make_user(session, "provider", organization=Organization(name="Elsewhere"))
    session.commit()
    return service, provider, outsider


def _accesses(session, service_id):
    session.expire_all()
    rows = session.execute(
        select(Language.code, Language.access)
        .where(Language.service_id == service_id)
        .order_by(Language.code)
    )
    return rows.all()


def test_the_provider_sets_how_each_language_is_offered(client, session):
    service, provider, _ = _provider_world(session)
    sign_in(client, provider)
    page = client.get(f"/provider/services/{service.id}/details").get_data(as_text=True)
    assert 'name="access-es"' in page and 'name="access-en"' in page
    saved = client.post(
        f"/provider/services/{service.id}/details", data={"access-en": "staff", "access-es": "interpreter"}
    )
    assert saved.status_code == 302
    assert _accesses(session, service.id) == [("en", "staff"), ("es", "interpreter")]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "service.languages"))
    assert event.payload == {"es": {"before": "staff", "after": "interpreter"}}


def test_a_bad_access_or_an_unlisted_language_changes_nothing(client, session):
    service, provider, outsider = _provider_world(session)
    sign_in(client, provider)
    bad = client.post(f"/provider/services/{service.id}/details", data={"access-es": "sometimes"})
    assert bad.status_code == 400
    assert "choose staff or interpreter for each language" in bad.get_data(as_text=True)
    assert _accesses(session, service.id) == [("en", "staff"), ("es", "staff")]
    # A language the service does not list is not in the form's choices: nothing is added.
    client.post(f"/provider/services/{service.id}/details", data={"access-vi": "interpreter"})
    assert _accesses(session, service.id) == [("en", "staff"), ("es", "staff")]
    client.post("/logout")
    sign_in(client, outsider)
    refused = client.post(f"/provider/services/{service.id}/details", data={"access-es": "interpreter"})
    assert refused.status_code in (403, 404)
    assert _accesses(session, service.id) == [("en", "staff"), ("es", "staff")]
