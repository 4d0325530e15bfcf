"""The search page and the service page: shareable GET form, errors beside the form, escaping, print."""

from tests.conftest import FIXED_NOW
from tests.factories import fresh, make_service

XSS = "<img src=x onerror=alert(1)>"


def test_home_leads_to_search(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/search")


def test_empty_search_page_shows_the_form(client):
    html = client.get("/search").get_data(as_text=True)
    assert '<form class="search-form" method="get"' in html
    assert 'name="near"' in html and 'name="category"' in html


def test_results_show_distance_status_and_age(client, session):
    make_service(
        session,
        name="Harbor Beds",
        capacity={"maximum": 5, "available": 2, "waitlist": 0, "confirmed_at": fresh(FIXED_NOW)},
    )
    session.commit()
    html = client.get("/search?near=98104").get_data(as_text=True)
    assert "Harbor Beds" in html
    assert " mi</span>" in html  # the site file says miles (distance_unit)
    assert 'data-status="spare_capacity"' in html
    assert "5 min ago" in html


def test_bad_input_is_shown_beside_the_form_with_400(client):
    response = client.get("/search?near=98104&radius_km=900")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="form-error"' in html and 'data-field="radius_km"' in html
    assert 'value="900"' in html  # the form keeps what was typed


def test_untrusted_names_are_escaped(client, session):
    service = make_service(session, name=XSS, description=XSS)
    service.organization.name = XSS
    session.commit()
    for url in ("/search?q=img", f"/services/{service.id}"):
        html = client.get(url).get_data(as_text=True)
        assert XSS not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_service_page_has_tel_links_map_link_hours_and_print(client, session):
    from datetime import time

    from directory.models import Phone

    service = make_service(session, name="Clinic", schedules=(("MO", time(21), time(7)),))
    service.phones.append(Phone(number="206-555-0142"))
    session.commit()
    html = client.get(f"/services/{service.id}").get_data(as_text=True)
    assert 'href="tel:206-555-0142"' in html
    assert 'href="geo:' in html and "100 Test St" in html
    assert "21:00–07:00 (next day)" in html
    assert "data-print" in html


def test_confidential_service_page_shows_phone_only(client, session):
    service = make_service(session, name="Safe House", confidential=True)
    session.commit()
    html = client.get(f"/services/{service.id}").get_data(as_text=True)
    assert "Confidential location" in html
    assert "geo:" not in html and "100 Test St" not in html


def test_unknown_service_page_is_404_html(client):
    response = client.get("/services/424242")
    assert response.status_code == 404 and "text/html" in response.content_type
