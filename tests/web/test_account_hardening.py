"""Sign-in's next= never a 500 nor another site; production refuses weak keys and demo accounts in every
way in (form, session cookie, bearer token, token command)."""

import secrets
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.config import secret_key_weakness, shortest_period
from tests.conftest import FIXED_NOW, make_app
from tests.factories import make_token, make_user, sign_in

PASSWORD = "the right password"


def _is_local(location: str) -> bool:
    parts = urlsplit(location)
    return (
        location.startswith("/")
        and not location.startswith("//")
        and "\\" not in location
        and not parts.scheme
        and not parts.netloc
        and "\r" not in location
        and "\n" not in location
    )


def test_a_header_break_in_next_is_refused_not_a_500(client, session):
    user = make_user(session, "case_manager", password=PASSWORD)
    session.commit()
    response = client.post(
        "/login?next=/%0d%0aSet-Cookie:x=1", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/search"  # the case manager's landing page
    assert "x=1" not in " ".join(response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "/\nLocation: https://evil.example",
        "/\r\nSet-Cookie: x=1",
        "/\tx",
        "/ x",
        "javascript:alert(1)",
        "/" + "a" * 3000,
    ],
)
def test_next_never_leads_elsewhere(client, session, target):
    user = make_user(session, "case_manager", password=PASSWORD)
    session.commit()
    response = client.post(
        "/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/search"


def test_a_local_next_is_followed(client, session):
    user = make_user(session, "case_manager", password=PASSWORD)
    session.commit()
    response = client.post(
        "/login?next=/participants%3Fpage%3D2", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/participants?page=2"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.text(max_size=40) | st.text(max_size=40).map(lambda t: "/" + t))
def test_next_fuzzed(app, session, target):
    if not hasattr(test_next_fuzzed, "user"):
        test_next_fuzzed.user = {}
    email = test_next_fuzzed.user.get(id(app))
    if email is None:
        email = make_user(session, "case_manager", password=PASSWORD).email
        session.commit()
        test_next_fuzzed.user[id(app)] = email
    response = app.test_client().post(
        "/login", query_string={"next": target}, data={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert _is_local(response.headers["Location"]), response.headers["Location"]


# --- Production -------------------------------------------------------------------------------------------


def test_random_keys_pass_and_made_up_ones_fail():
    for _ in range(2000):
        assert secret_key_weakness(secrets.token_hex(32)) is None
        assert secret_key_weakness(secrets.token_urlsafe(32)) is None
    assert "distinct" in secret_key_weakness("a" * 64)
    assert "distinct" in secret_key_weakness("abcd" * 16)
    assert "repeated" in secret_key_weakness("0123456789abcdef" * 4)
    assert "entropy" in secret_key_weakness("abcdefghij" + "a" * 54)
    assert "32" in secret_key_weakness(secrets.token_hex(15))


@given(block=st.text(min_size=1, max_size=20), extra=st.integers(min_value=0, max_value=19))
def test_any_repeated_block_is_refused(block, extra):
    key = block * (64 // len(block) + 2)
    key = key[: max(32, 2 * len(block)) + extra]
    assert shortest_period(key) <= len(block)
    assert secret_key_weakness(key) is not None


@pytest.fixture
def production(database_url):
    return make_app(
        database_url, DIRECTORY_ENV="production", SECRET_KEY=secrets.token_hex(32), CLOCK=lambda: FIXED_NOW
    )


def test_production_refuses_a_demo_account_everywhere(production, session):
    demo = make_user(session, "case_manager", password=PASSWORD, is_demo=True)
    real = make_user(session, "case_manager", password=PASSWORD)
    demo_token, real_token = make_token(session, demo), make_token(session, real)
    session.commit()
    https = {"base_url": "https://localhost"}
    # Bearer authentication: the demo token is refused, a real account's works.
    for token, expected in ((demo_token, 401), (real_token, 201)):
        response = production.test_client().post(
            "/api/v1/participants", json={}, headers={"Authorization": f"Bearer {token}"}, **https
        )
        assert response.status_code == expected
    # The sign-in form.
    client = production.test_client()
    assert client.post("/login", data={"email": demo.email, "password": PASSWORD}, **https).status_code == 401
    # A session cookie made for the demo account (signed before the switch to production, say).
    browser = production.test_client()
    sign_in(browser, demo)
    assert browser.get("/account", **https).status_code == 302
    sign_in(browser, real)
    assert browser.get("/account", **https).status_code == 200
    # The token command.
    demo_email = demo.email
    session.rollback()  # the test's own read transaction must not hold the database
    with production.app_context():  # the command runs in the innermost app: here the production one
        result = production.test_cli_runner().invoke(args=["users", "token", demo_email])
    assert result.exit_code != 0 and "demo" in result.output, result.output
    # HSTS and the secure cookie flag hold in production.
    response = production.test_client().post(
        "/login", data={"email": real.email, "password": PASSWORD}, **https
    )
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
