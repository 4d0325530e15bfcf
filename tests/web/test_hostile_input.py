"""Hostile input over every form, page and API endpoint: never a 500, never reflected or stored script, SQL
as text, a refused request changes nothing, oversized bodies are 413, and sign-in guessing is throttled.

The routes come from the authorization matrix (which itself checks that it lists every route), so a new
endpoint is fuzzed as soon as it is authorized; the API's OpenAPI document is checked against the same list.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from directory.models import (
    AuditEvent,
    CapacityEvent,
    ConfirmLink,
    Goal,
    Notification,
    Participant,
    Referral,
    ReferralCheck,
    ServiceCapacity,
    User,
)
from tests.conftest import FIXED_NOW
from tests.factories import make_service, make_user, sign_in
from tests.web.test_authorization import CASES, build, fill

SCRIPT = "<script>alert('x')</script>"
IMG = "<img src=x onerror=alert(1)>"
ATTRIBUTE = '" autofocus onfocus="alert(1)'
SQL = "'; DROP TABLE service; --"
HOSTILE_TEXT = [
    SCRIPT,
    IMG,
    ATTRIBUTE,
    SQL,
    "1 OR 1=1",
    "{{7*7}}",
    "../../etc/passwd",
    "\x00",
    "\u202eevil",
    "😀" * 40,
    "A" * 5000,
    "",
    " ",
    "-1",
    "0",
    "1e308",
    "NaN",
    "99999999999999999999999",
    "true",
    "null",
    "P-000000",
]
FIELD_NAMES = [
    "name",
    "text",
    "domain",
    "note",
    "reason_code",
    "justification",
    "maximum",
    "available",
    "waitlist",
    "lead_funded_maximum",
    "lead_funded_available",
    "place",
    "needs",
    "goal_id",
    "case_manager_id",
    "email",
    "password",
    "participant",
    "participant_code",
    "service_id",
    "action",
    "expected_classification",
    "alternatives_rejected",
    "near",
]
QUERY_NAMES = ["q", "near", "lat", "lon", "radius_km", "category", "page", "per_page", "org", "service_id"]
QUERY_NAMES += ["language", "population", "availability", "open_now", "start", "end", "next", "participant"]

texts = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=60))
json_values = st.recursive(
    st.one_of(
        texts,
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=3)
    ),
    max_leaves=6,
)
FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
EXECUTABLE = re.compile(r'<script>alert|<img src=x onerror|" autofocus onfocus="', re.IGNORECASE)


def fingerprint(session) -> tuple:
    """Everything a refused request must leave as it was: row counts and every service's numbers."""
    session.expire_all()
    counts = tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (
            Participant,
            Goal,
            Referral,
            ReferralCheck,
            CapacityEvent,
            AuditEvent,
            User,
            Notification,
            ConfirmLink,
        )
    )
    numbers = tuple(
        session.execute(
            select(
                ServiceCapacity.service_id,
                ServiceCapacity.maximum,
                ServiceCapacity.available,
                ServiceCapacity.waitlist,
                ServiceCapacity.lead_funded_maximum,
                ServiceCapacity.lead_funded_available,
                ServiceCapacity.held_general,
                ServiceCapacity.held_lead,
                ServiceCapacity.confirmed_at,
            ).order_by(ServiceCapacity.service_id)
        ).all()
    )
    states = tuple(session.execute(select(Referral.id, Referral.state).order_by(Referral.id)).all())
    return counts, numbers, states


def most_trusted_role(expected: dict) -> str:
    """The role that may use this route (admin unless the route is someone else's)."""
    for role in ("admin", "case_manager", "provider", "project_manager", "peer_outreach", "anonymous"):
        if expected[role] < 400:
            return role
    return "admin"


def signed_in_client(app, world, role: str, is_api: bool):
    client = app.test_client()
    headers = {}
    if role != "anonymous":
        if is_api:
            headers["Authorization"] = f"Bearer {world['tokens'][role]}"
        else:
            sign_in(client, world["users"][role].id)
    return client, headers


def assert_safe(response, is_api: bool) -> None:
    """No 500; errors under /api are the error JSON; no HTML page carries executable hostile markup."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if is_api:
        if response.status_code >= 400:
            body = response.get_json()
            assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    elif response.mimetype == "text/html":
        page = response.get_data(as_text=True)
        assert not EXECUTABLE.search(page), EXECUTABLE.search(page).group(0)


@pytest.mark.parametrize(
    ("endpoint", "method", "url", "body", "expected"), CASES, ids=[f"{c[1]} {c[2]}" for c in CASES]
)
def test_fuzzed_requests_never_fail_unsafely(app, session, endpoint, method, url, body, expected):
    world = build(session)
    is_api = url.startswith("/api/")
    role = most_trusted_role(expected)
    client, headers = signed_in_client(app, world, role, is_api)
    base_url = fill(url, world)
    base_body = fill(body, world) if body is not None else None

    @FUZZ
    @given(data=st.data())
    def run(data):
        target = base_url
        if data.draw(st.booleans(), "hostile path") and re.search(r"/\d+(/|$|\?)", target):
            hostile = quote(data.draw(texts, "path value"), safe="")
            target = re.sub(r"/\d+(?=/|$|\?)", "/" + (hostile or "%20"), target, count=1)
        extra = data.draw(st.dictionaries(st.sampled_from(QUERY_NAMES), texts, max_size=3), "query")
        if extra:
            target += ("&" if "?" in target else "?") + urlencode(extra)
        payload = None
        if method in WRITES:
            payload = dict(base_body or {})
            for name in data.draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=3), "fields"):
                payload[name] = data.draw(json_values if is_api else texts, name)
        before = fingerprint(session)
        if is_api and method in WRITES:
            shape = data.draw(
                st.sampled_from(["object", "object", "object", "any json", "not json"]), "shape"
            )
            if shape == "any json":
                response = client.open(target, method=method, json=data.draw(json_values), headers=headers)
            elif shape == "not json":
                raw = data.draw(st.binary(max_size=40), "raw body")
                response = client.open(
                    target, method=method, data=raw, headers={**headers, "Content-Type": "application/json"}
                )
            else:
                response = client.open(target, method=method, json=payload, headers=headers)
        elif method in WRITES:
            response = client.open(target, method=method, data=payload, headers=headers)
        else:
            response = client.open(target, method=method, headers=headers)
        assert_safe(response, is_api)
        if response.status_code >= 400:
            assert fingerprint(session) == before, (method, target, payload, response.status_code)

    run()


def test_the_openapi_document_lists_every_api_endpoint(client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {
        (method.upper(), "/api/v1" + re.sub(r"\{[^}]+\}", "{}", path))
        for path, operations in document["paths"].items()
        for method in operations
    }
    matrix = {
        (method, re.sub(r"\{[A-Z0-9]+\}", "{}", url.split("?")[0]))
        for _, method, url, _, _ in CASES
        if url.startswith("/api/v1/") and url != "/api/v1/openapi.json"
    }
    assert matrix == documented


def test_stored_script_is_text_on_every_page_that_shows_it(app, session):
    world = build(session)
    hostile = make_service(
        session,
        name=IMG + SCRIPT,
        description=SCRIPT + ATTRIBUTE,
        capacity={"maximum": 4, "available": 1, "waitlist": 0, "confirmed_at": FIXED_NOW},
    )
    hostile.organization.name = SCRIPT
    session.commit()
    client, _ = signed_in_client(app, world, "admin", is_api=False)
    pages = [
        f"/search?q={quote('onerror')}",
        "/search?q=alert",
        f"/services/{hostile.id}",
        f"/referrals/check?service_id={hostile.id}",
        f"/provider?org={hostile.organization_id}",
        f"/provider/services/{hostile.id}",
        "/pm",
        "/pm/report",
        "/pm/freshness",
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        text = response.get_data(as_text=True)
        assert not EXECUTABLE.search(text), (page, EXECUTABLE.search(text).group(0))
    # The escaped name is on the service page: escaped, not dropped.
    assert "&lt;img src=x onerror=alert(1)&gt;" in client.get(f"/services/{hostile.id}").get_data(
        as_text=True
    )
    api = client.get(f"/api/v1/services/{hostile.id}").get_json()
    assert api["name"] == IMG + SCRIPT  # the API returns the data as data; JSON is not HTML


def test_sql_looking_input_is_searched_and_stored_as_text(app, session):
    world = build(session)
    client, headers = signed_in_client(app, world, "case_manager", is_api=True)
    before = fingerprint(session)
    response = client.get("/api/v1/services?" + urlencode({"q": SQL}), headers=headers)
    assert response.status_code == 200 and response.get_json()["items"] == []
    assert fingerprint(session) == before  # nothing dropped, nothing written
    goal_text = "a room'); DELETE FROM referral; --"
    created = client.post(
        f"/api/v1/participants/{world['P']}/goals",
        json={"domain": "housing", "text": goal_text},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    session.expire_all()
    # Stored sealed with the participant's key (domain/keys.py), and read back as it was written.
    assert session.get(Goal, created.get_json()["id"]).plain_text == goal_text
    assert session.scalar(select(func.count()).select_from(Referral)) == before[0][2]


def test_oversized_bodies_are_refused_on_every_write(app, session):
    world = build(session)
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    writes = [case for case in CASES if case[1] in WRITES]
    assert writes
    for _, method, url, _, expected in writes:
        is_api = url.startswith("/api/")
        client, headers = signed_in_client(app, world, most_trusted_role(expected), is_api)
        before = fingerprint(session)
        if is_api:
            response = client.open(
                fill(url, world),
                method=method,
                data=big,
                headers={**headers, "Content-Type": "application/json"},
            )
            assert response.get_json()["error"]["code"] == "payload_too_large"
        else:
            response = client.open(fill(url, world), method=method, data={"text": big})
        assert response.status_code == 413, (method, url)
        assert fingerprint(session) == before


def test_a_scripted_guessing_attack_is_throttled(app, session):
    victims = [make_user(session, "case_manager", password=f"the real password {i}") for i in range(8)]
    session.commit()
    client = app.test_client()
    guesses = [f"guess-{n}" for n in range(60)]
    statuses = []
    for n, guess in enumerate(guesses):
        victim = victims[n % len(victims)]
        statuses.append(client.post("/login", data={"email": victim.email, "password": guess}).status_code)
    # Per account and address: 5 failures each, then 429 for that pair (no per-address bucket: behind a
    # proxy it would be everyone's). 8 accounts x 5 = 40 guesses checked, the other 20 refused unchecked.
    assert statuses.count(401) == 8 * 5 and statuses.count(429) == 60 - 8 * 5
    assert statuses[-1] == 429
    # While blocked, even the right password does not get in from this address.
    right = client.post("/login", data={"email": victims[0].email, "password": "the real password 0"})
    assert right.status_code == 429
    assert client.get("/participants").status_code == 302  # still signed out
    # An account nobody guessed at signs in from another address: the block is per address and account.
    bystander = make_user(session, "case_manager", password="a bystander's password")
    session.commit()
    fine = app.test_client().post(
        "/login",
        data={"email": bystander.email, "password": "a bystander's password"},
        environ_base={"REMOTE_ADDR": "127.0.0.9"},
    )
    assert fine.status_code == 302
