"""Sessions against an attacker holding a copied cookie: sign-out that ends the session on the server,
"sign out everywhere" (by the account and by an admin), password change and deactivation ending every
session and API token, idle and absolute lifetimes from the site file, CSRF rotation, and fixation."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from directory.config import ConfigError, load_site
from directory.extensions import db
from directory.models import AuditEvent, User
from tests.conftest import FIXED_NOW, make_app
from tests.factories import make_participant, make_token, make_user

PASSWORD = "the right password"
NEW_PASSWORD = "a brand new password"
SITE_FILE = Path(__file__).resolve().parents[2] / "data" / "site.toml"


class Clock:
    """A clock the test moves by hand (no sleeping)."""

    def __init__(self, at=FIXED_NOW):
        self.at = at

    def __call__(self):
        return self.at

    def advance(self, **delta):
        self.at += timedelta(**delta)


@pytest.fixture
def clock(app):
    moving = Clock()
    app.config["CLOCK"] = moving
    return moving


@pytest.fixture
def world(session):
    cm = make_user(session, "case_manager", password=PASSWORD)
    other = make_user(session, "case_manager", password=PASSWORD)
    admin = make_user(session, "admin", password=PASSWORD)
    participant = make_participant(session, cm)
    token = make_token(session, cm)
    other_token = make_token(session, other)
    session.commit()
    return {
        "cm": cm.email,
        "cm_id": cm.id,
        "other": other.email,
        "admin": admin.email,
        "code": participant.code,
        "token": token,
        "other_token": other_token,
    }


def sign_in(app, email, password=PASSWORD, **kw):
    """A new browser, signed in through the login form."""
    browser = app.test_client()
    response = browser.post("/login", data={"email": email, "password": password}, **kw)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return browser


def copy_of(app, browser):
    """A second browser holding a copy of the first one's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", browser.get_cookie("session").value)
    return thief


def plan_status(browser, code) -> int:
    return browser.get(f"/participants/{code}").status_code


def token_creates(app, token) -> int:
    """The status of creating a participant with this token (201 while the token is good)."""
    headers = {"Authorization": f"Bearer {token}"}
    return app.test_client().post("/api/v1/participants", json={}, headers=headers).status_code


def bearer_ok(app, token, code) -> bool:
    response = app.test_client().get(
        f"/api/v1/participants/{code}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code in (200, 401), response.status_code
    return response.status_code == 200


def csrf_token(browser, url="/account") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', browser.get(url).get_data(as_text=True)).group(1)


def test_a_cookie_copied_before_logout_reads_no_plan_after_it(app, world, clock):
    browser = sign_in(app, world["cm"])
    thief = copy_of(app, browser)
    assert plan_status(thief, world["code"]) == 200  # the copy works while the session lives
    browser.post("/logout")
    assert plan_status(browser, world["code"]) == 302
    assert plan_status(thief, world["code"]) == 302
    assert thief.get(f"/participants/{world['code']}").headers["Location"].startswith("/login")
    # Not even later, when the idle clock of the copy would still run.
    clock.advance(minutes=1)
    assert plan_status(thief, world["code"]) == 302


def test_the_copied_cookies_csrf_token_dies_with_the_session(app, world, clock):
    app.config["WTF_CSRF_ENABLED"] = True
    browser = sign_in_with_csrf(app, world["cm"])
    token = csrf_token(browser)
    thief = copy_of(app, browser)
    # Before logout the copy and its token can write (mark notices read answers a redirect, not 400).
    assert thief.post("/notifications/read", data={"csrf_token": token}).status_code == 302
    browser.post("/logout", data={"csrf_token": token})
    refused = thief.post("/notifications/read", data={"csrf_token": token})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    # Nor does the old cookie and token post any anonymous form (the sign-in form).
    again = thief.post("/login", data={"csrf_token": token, "email": world["cm"], "password": PASSWORD})
    assert again.status_code == 400


def sign_in_with_csrf(app, email, password=PASSWORD):
    browser = app.test_client()
    token = csrf_token(browser, "/login")
    response = browser.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302
    return browser


def test_logout_ends_only_that_session(app, world, clock):
    phone, desk = sign_in(app, world["cm"]), sign_in(app, world["cm"])
    phone.post("/logout")
    assert plan_status(phone, world["code"]) == 302
    assert plan_status(desk, world["code"]) == 200
    assert bearer_ok(app, world["token"], world["code"])


def test_sign_out_everywhere_ends_every_session_and_api_token(app, world, session, clock):
    phone, desk = sign_in(app, world["cm"]), sign_in(app, world["cm"])
    bystander = sign_in(app, world["other"])
    assert desk.post("/account/sign-out-everywhere").status_code == 302
    assert plan_status(phone, world["code"]) == 302
    assert plan_status(desk, world["code"]) == 302
    assert not bearer_ok(app, world["token"], world["code"])
    # Another account is untouched.
    assert bystander.get("/account").status_code == 200
    assert token_creates(app, world["other_token"]) == 201
    assert token_creates(app, world["token"]) == 401
    # A fresh sign-in works, and the event is audited.
    assert plan_status(sign_in(app, world["cm"]), world["code"]) == 200
    session.rollback()
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "account.sign_out_everywhere" in actions


def test_an_admin_signs_out_a_lost_phone(app, world, session, clock):
    phone = sign_in(app, world["cm"])
    bystander = sign_in(app, world["other"])
    admin = sign_in(app, world["admin"])
    page = admin.get("/admin/accounts").get_data(as_text=True)
    assert world["cm"] in page and "Sign out everywhere" in page
    response = admin.post(f"/admin/accounts/{world['cm_id']}/sign-out-everywhere")
    assert response.status_code == 302
    assert plan_status(phone, world["code"]) == 302
    assert not bearer_ok(app, world["token"], world["code"])
    assert bystander.get("/account").status_code == 200
    assert admin.get("/admin/accounts").status_code == 200  # the admin's own session lives on
    # Only admins may: a case manager's attempt on another account changes nothing.
    mine = sign_in(app, world["cm"])
    other_id = session.scalar(select(User.id).where(User.email == world["other"]))
    assert mine.post(f"/admin/accounts/{other_id}/sign-out-everywhere").status_code == 403
    assert bystander.get("/account").status_code == 200
    assert admin.post("/admin/accounts/999999/sign-out-everywhere").status_code == 404


def test_a_password_change_ends_every_other_session_and_every_token(app, world, session, clock):
    other_browser = sign_in(app, world["cm"])
    browser = sign_in(app, world["cm"])
    thief = copy_of(app, browser)
    wrong = browser.post(
        "/account/password",
        data={"current_password": "not it", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(as_text=True)
    assert plan_status(other_browser, world["code"]) == 200  # nothing changed
    assert bearer_ok(app, world["token"], world["code"])
    short = browser.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
    )
    assert short.status_code == 400
    changed = browser.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    assert plan_status(browser, world["code"]) == 200  # this browser signed in anew
    assert plan_status(other_browser, world["code"]) == 302
    assert plan_status(thief, world["code"]) == 302  # the copy taken before the change
    assert not bearer_ok(app, world["token"], world["code"])
    old = app.test_client().post("/login", data={"email": world["cm"], "password": PASSWORD})
    assert old.status_code == 401
    sign_in(app, world["cm"], NEW_PASSWORD)


def test_deactivation_ends_sessions_and_tokens_and_reactivation_revives_neither(app, world, clock):
    phone = sign_in(app, world["cm"])
    admin = sign_in(app, world["admin"])
    assert admin.post(f"/admin/accounts/{world['cm_id']}/active", data={"active": "0"}).status_code == 302
    assert plan_status(phone, world["code"]) == 302
    assert not bearer_ok(app, world["token"], world["code"])
    assert (
        app.test_client().post("/login", data={"email": world["cm"], "password": PASSWORD}).status_code == 401
    )
    assert admin.post(f"/admin/accounts/{world['cm_id']}/active", data={"active": "1"}).status_code == 302
    assert plan_status(phone, world["code"]) == 302
    assert not bearer_ok(app, world["token"], world["code"])
    assert plan_status(sign_in(app, world["cm"]), world["code"]) == 200


def test_a_provider_admin_removing_staff_revokes_their_token(app, session, clock):
    from tests.factories import make_service

    service = make_service(session)
    boss = make_user(
        session, "provider", organization=service.organization, org_admin=True, password=PASSWORD
    )
    member = make_user(session, "provider", organization=service.organization, password=PASSWORD)
    token = make_token(session, member)
    session.commit()
    member_browser = sign_in(app, member.email)
    url = f"/api/v1/services/{service.id}/capacity/confirm"
    headers = {"Authorization": f"Bearer {token}"}
    boss_browser = sign_in(app, boss.email)
    boss_browser.post("/provider/staff", data={"action": "remove", "user_id": str(member.id)})
    assert app.test_client().post(url, headers=headers).status_code == 401
    assert member_browser.get("/provider").status_code == 302


def test_idle_time_ends_a_session_and_activity_keeps_it(app, world, clock):
    browser = sign_in(app, world["cm"])
    clock.advance(minutes=59)
    assert plan_status(browser, world["code"]) == 200
    clock.advance(minutes=59)  # 118 minutes after sign-in, 59 after the last use
    assert plan_status(browser, world["code"]) == 200
    clock.advance(minutes=60, seconds=1)
    assert plan_status(browser, world["code"]) == 302


def test_background_polling_does_not_keep_a_session_alive(app, world, clock):
    browser = sign_in(app, world["cm"])
    for _ in range(3):
        clock.advance(minutes=19)
        # Polling still answers for a live session...
        assert browser.get("/notifications", headers={"X-Background": "1"}).status_code == 200
    clock.advance(minutes=3, seconds=1)  # 60 minutes and a second after the last use by a person
    assert browser.get("/notifications", headers={"X-Background": "1"}).status_code == 302
    assert plan_status(browser, world["code"]) == 302


def test_the_absolute_lifetime_ends_even_a_busy_session(app, world, clock):
    browser = sign_in(app, world["cm"])
    for _ in range(14):  # 14 x 50 min = 11 h 40 min, always within the idle time
        clock.advance(minutes=50)
        assert plan_status(browser, world["code"]) == 200
    clock.advance(minutes=20, seconds=1)  # 12 h and a second after sign-in
    assert plan_status(browser, world["code"]) == 302


def test_lifetimes_come_from_the_site_file(database_url, session, tmp_path):
    text = (
        SITE_FILE.read_text()
        .replace("idle_minutes = 60", "idle_minutes = 5")
        .replace("absolute_hours = 12", "absolute_hours = 1")
    )
    site = tmp_path / "site.toml"
    site.write_text(text)
    clock = Clock()
    app = make_app(database_url, CLOCK=clock, SITE_CONFIG=str(site))
    user = make_user(session, "case_manager", password=PASSWORD)
    session.commit()
    browser = sign_in(app, user.email)
    clock.advance(minutes=4)
    assert browser.get("/account").status_code == 200
    clock.advance(minutes=5, seconds=1)
    assert browser.get("/account").status_code == 302
    # The defaults when the table is missing, and nonsense refused.
    assert (load_site(SITE_FILE).session_idle_minutes, load_site(SITE_FILE).session_absolute_hours) == (
        60,
        12,
    )
    site.write_text(text.replace("idle_minutes = 5", "idle_minutes = 0"))
    with pytest.raises(ConfigError):
        load_site(site)
    site.write_text(SITE_FILE.read_text().replace("[sessions]", "[not_sessions]"))
    assert load_site(site).session_idle_minutes == 60


def test_activity_is_kept_in_the_cookie_not_the_database(app, world, clock):
    browser = sign_in(app, world["cm"])
    clock.advance(minutes=10)
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert browser.get("/account").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements and not {"INSERT", "UPDATE", "DELETE"} & set(statements)
    with browser.session_transaction() as cookie:
        assert cookie["_seen"] == int(clock.at.timestamp())


def test_sign_in_rotates_the_csrf_token_and_keeps_nothing_of_the_old_cookie(app, world, clock):
    app.config["WTF_CSRF_ENABLED"] = True
    browser = app.test_client()
    before = csrf_token(browser, "/login")
    # An attacker plants a session id of their choosing before the victim signs in (fixation).
    with browser.session_transaction() as cookie:
        cookie["_sid"] = "chosen-by-the-attacker"
        cookie["planted"] = "yes"
    planted = browser.get_cookie("session").value
    response = browser.post("/login", data={"email": world["cm"], "password": PASSWORD, "csrf_token": before})
    assert response.status_code == 302
    with browser.session_transaction() as cookie:
        assert cookie["_sid"] != "chosen-by-the-attacker" and "planted" not in cookie
        assert cookie.get("csrf_token") is None  # a new one is made for the next form
    after = csrf_token(browser)
    assert after != before
    assert browser.post("/notifications/read", data={"csrf_token": before}).status_code == 400
    assert browser.post("/notifications/read", data={"csrf_token": after}).status_code == 302
    attacker = app.test_client()
    attacker.set_cookie("session", planted)
    assert plan_status(attacker, world["code"]) == 302


def test_a_session_cookie_without_the_server_fields_signs_nobody_in(app, world, clock):
    # What a cookie signed before this change held: an account id alone. It must not sign in for ever.
    browser = app.test_client()
    with browser.session_transaction() as cookie:
        cookie["_user_id"] = str(world["cm_id"])
        cookie["_fresh"] = True
    assert plan_status(browser, world["code"]) == 302


def test_cookie_flags(app, world, clock):
    response = app.test_client().post("/login", data={"email": world["cm"], "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development over http; production sets it (test_production_...)


def test_every_page_form_needs_the_csrf_token(app, session):
    from tests.factories import sign_in as put_session
    from tests.web.test_authorization import CASES, build, fill

    world = build(session)
    app.config["WTF_CSRF_ENABLED"] = True
    browser = app.test_client()
    put_session(browser, world["users"]["admin"])
    posts = [c for c in CASES if c[1] == "POST" and not c[2].startswith(("/api/", "/confirm/"))]
    assert len(posts) >= 10
    for endpoint, _, url, body, _ in posts:
        response = browser.post(fill(url, world), data=fill(body, world) if body else {})
        assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True), endpoint
    # The session itself is still good: the refusals were for the missing token only.
    assert browser.get("/account").status_code == 200
