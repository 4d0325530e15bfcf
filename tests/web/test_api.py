"""The HTTP API: the contract's JSON shapes, and a clear JSON error for everything a client can send."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.domain.search import KNOWN_PARAMS
from tests.conftest import FIXED_NOW
from tests.factories import LOW_BARRIER, fresh, make_service, make_token, make_user

SERVICE_KEYS = {
    "id",
    "name",
    "description",
    "organization",
    "categories",
    "location",
    "phones",
    "schedule",
    "languages",
    "populations",
    "eligibility",
    "required_documents",
    "alert",
    "attributes",
    "capacity",
}
CAPACITY_KEYS = {
    "unit",
    "maximum",
    "available",
    "waitlist",
    "lead_funded_maximum",
    "lead_funded_available",
    "held_general",
    "held_lead",
    "confirmed_at",
    "stale",
    "status",
}


def assert_error(response, status, field=None):
    assert response.status_code == status
    assert response.is_json, response.data[:200]
    body = response.get_json()
    assert set(body["error"]) >= {"code", "message"}
    assert body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field
    return body


def test_list_and_get_service_shapes(client, session):
    # A case manager's view (the public's is tested in test_public_disclosure.py).
    headers = {"Authorization": f"Bearer {make_token(session, make_user(session))}"}
    service = make_service(
        session,
        name="Harbor Beds",
        domain="housing",
        housing_first=True,
        languages=("en", "es"),
        capacity={
            "maximum": 10,
            "available": 4,
            "waitlist": 1,
            "lead_funded_maximum": 2,
            "lead_funded_available": 1,
            "confirmed_at": fresh(FIXED_NOW),
        },
        **LOW_BARRIER,
    )
    session.commit()
    body = client.get("/api/v1/services?near=98104", headers=headers).get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["per_page"] == 20
    item = body["items"][0]
    assert set(item) >= SERVICE_KEYS
    assert set(item["capacity"]) == CAPACITY_KEYS
    assert item["capacity"]["status"] == "lead_funded"
    assert item["capacity"]["stale"] is False
    assert item["capacity"]["confirmed_at"] == "2026-11-24T17:55:00Z"
    assert item["distance_km"] >= 0
    assert item["attributes"]["housing_first"] is True
    assert item["attributes"]["low_barrier"] is True
    assert item["categories"][0] == "housing"
    one = client.get(f"/api/v1/services/{service.id}", headers=headers).get_json()
    assert one["id"] == service.id and "distance_km" not in one


def test_open_access_service_has_null_capacity(client, session):
    service = make_service(session, domain="food")
    session.commit()
    assert client.get(f"/api/v1/services/{service.id}").get_json()["capacity"] is None


def test_confidential_location_has_no_address_or_coordinates(client, session):
    service = make_service(session, confidential=True, capacity={"maximum": 4, "available": 1})
    session.commit()
    body = client.get(f"/api/v1/services/{service.id}").get_json()
    assert body["location"]["address"] is None
    assert body["location"]["latitude"] is None and body["location"]["longitude"] is None
    assert body["attributes"]["confidential"] is True
    assert "100 Test St" not in json.dumps(body)


def test_taxonomy(client):
    body = client.get("/api/v1/taxonomy").get_json()
    assert len(body["domains"]) == 18
    housing = next(d for d in body["domains"] if d["id"] == "housing")
    assert housing["terms"]
    assert {"code": "es", "name": "Spanish"} in body["languages"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("category=nope", "category"),
        ("near=zzzz-nowhere", "near"),
        ("radius_km=500&near=98104", "radius_km"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("low_barrier=maybe", "low_barrier"),
        ("lat=1", "lon"),
        ("availability=lots", "availability"),
        ("language=xx-nope", "language"),
    ],
)
def test_bad_query_is_400_naming_the_field(client, query, field):
    body = assert_error(client.get("/api/v1/services?" + query), 400, field)
    assert body["error"]["code"] == "invalid"


def test_errors_are_json_everywhere_under_api(client):
    assert_error(client.get("/api/v1/services/999999"), 404)
    assert_error(client.get("/api/v1/services/abc"), 404)
    assert_error(client.get("/api/v1/no-such-thing"), 404)
    response = client.delete("/api/v1/services")
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]
    assert_error(client.post("/api/v1/services", data="{not json", content_type="application/json"), 405)


def test_body_too_large_is_413_json(client):
    assert_error(client.post("/api/v1/services", data=b"x" * (2 * 1024 * 1024)), 413)


def test_health(client):
    assert client.get("/healthz").status_code == 200


QUERY_KEYS = [*sorted(KNOWN_PARAMS), "other"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.tuples(st.sampled_from(QUERY_KEYS), st.text(max_size=30)), max_size=6))
def test_no_query_string_yields_a_500(client, params):
    response = client.get("/api/v1/services", query_string=params)
    assert response.status_code in (200, 400), response.data[:300]
    assert response.is_json
    page = client.get("/search", query_string=params)
    assert page.status_code in (200, 400)
