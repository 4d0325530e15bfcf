"""Sign-in throttling that no stranger can turn against someone else: 5 failures per account and address
lock that pair for 15 minutes; per account alone only a growing delay (at most 30 s), never a lockout;
forwarded addresses believed only from the configured number of trusted proxies. No test sleeps: the
delay is read from Retry-After and the clock is moved by hand."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from directory.config import ConfigError
from directory.models import LoginAttempt
from tests.conftest import FIXED_NOW, make_app
from tests.factories import make_user

PASSWORD = "the right password"


class Clock:
    def __init__(self):
        self.at = FIXED_NOW

    def __call__(self):
        return self.at

    def advance(self, seconds):
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def clock(app):
    moving = Clock()
    app.config["CLOCK"] = moving
    return moving


def attempt(app, email, password, address="198.51.100.1", headers=None):
    return app.test_client().post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers or {},
    )


def test_five_failures_lock_the_account_from_that_address_for_15_minutes(app, session, clock):
    user = make_user(session, "case_manager", password=PASSWORD)
    session.commit()
    for _ in range(5):
        assert attempt(app, user.email, "wrong").status_code == 401
    blocked = attempt(app, user.email, PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == 15 * 60
    clock.advance(14 * 60)
    assert int(attempt(app, user.email, PASSWORD).headers["Retry-After"]) == 60
    clock.advance(60)
    assert attempt(app, user.email, PASSWORD).status_code == 302


def test_the_owner_elsewhere_waits_seconds_at_most_never_a_lockout(app, session, clock):
    user = make_user(session, "case_manager", password=PASSWORD)
    session.commit()
    for _ in range(5):
        attempt(app, user.email, "wrong", address="203.0.113.66")
    # From the owner's address: a short delay (the 5th failure asks 1 s), then in.
    waiting = attempt(app, user.email, PASSWORD, address="192.0.2.10")
    assert waiting.status_code == 429 and waiting.headers["Retry-After"] == "1"
    clock.advance(1)
    assert attempt(app, user.email, PASSWORD, address="192.0.2.10").status_code == 302


def test_the_delay_per_account_doubles_up_to_30_seconds(app, session, clock):
    user = make_user(session, "case_manager", password=PASSWORD)
    session.commit()
    # A guesser using a new address for every guess, waiting out each delay as told.
    delays = []
    for n in range(12):
        response = attempt(app, user.email, "wrong", address=f"203.0.113.{n + 1}")
        if response.status_code == 429:
            delays.append(int(response.headers["Retry-After"]))
            clock.advance(delays[-1])
            response = attempt(app, user.email, "wrong", address=f"203.0.113.{n + 1}")
        assert response.status_code == 401
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    # Never a lockout: the right password, once the at most 30 s have passed, signs in.
    assert attempt(app, user.email, PASSWORD, address="192.0.2.10").headers["Retry-After"] == "30"
    clock.advance(30)
    assert attempt(app, user.email, PASSWORD, address="192.0.2.10").status_code == 302
    # A success starts the count afresh.
    assert attempt(app, user.email, "wrong", address="203.0.113.99").status_code == 401
    assert attempt(app, user.email, PASSWORD, address="192.0.2.10").status_code == 302


def test_twenty_failures_from_anyone_lock_nobody_else_out(app, session, clock):
    victims = [make_user(session, "case_manager", password=f"{PASSWORD} {i}") for i in range(4)]
    bystanders = [make_user(session, "case_manager", password=f"{PASSWORD} b{i}") for i in range(3)]
    admin = make_user(session, "admin", password=f"{PASSWORD} admin")
    session.commit()
    statuses = [attempt(app, victims[n % 4].email, f"guess {n}").status_code for n in range(20)]
    assert statuses == [401] * 20
    # Other accounts sign in, from another address and from the attacker's own.
    assert attempt(app, bystanders[0].email, f"{PASSWORD} b0", address="192.0.2.20").status_code == 302
    assert attempt(app, bystanders[1].email, f"{PASSWORD} b1").status_code == 302
    assert attempt(app, admin.email, f"{PASSWORD} admin", address="192.0.2.21").status_code == 302
    # The attacked accounts, from their owners' addresses: at most a delay, here 1 s.
    response = attempt(app, victims[0].email, f"{PASSWORD} 0", address="192.0.2.22")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) <= 30
    clock.advance(int(response.headers["Retry-After"]))
    assert attempt(app, victims[0].email, f"{PASSWORD} 0", address="192.0.2.22").status_code == 302


def test_behind_a_trusted_proxy_each_client_has_its_own_address(database_url, session):
    app = make_app(database_url, CLOCK=lambda: FIXED_NOW, TRUSTED_PROXIES=1)
    user = make_user(session, "case_manager", password=PASSWORD)
    session.commit()
    proxy = "10.0.0.1"
    for _ in range(5):
        attempt(app, user.email, "wrong", address=proxy, headers={"X-Forwarded-For": "203.0.113.5"})
    assert attempt(app, user.email, PASSWORD, proxy, {"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    session.rollback()
    assert set(session.scalars(select(LoginAttempt.address))) == {"203.0.113.5"}
    # Another client behind the same proxy: only the account's delay (1 s, the clock is fixed here).
    other = attempt(app, user.email, PASSWORD, proxy, {"X-Forwarded-For": "192.0.2.7"})
    assert other.status_code == 429 and other.headers["Retry-After"] == "1"


def test_without_trusted_proxies_a_forged_forwarded_address_changes_nothing(app, session, clock):
    user = make_user(session, "case_manager", password=PASSWORD)
    session.commit()
    for n in range(5):
        attempt(app, user.email, "wrong", headers={"X-Forwarded-For": f"203.0.113.{n}"})
    forged = attempt(app, user.email, PASSWORD, headers={"X-Forwarded-For": "192.0.2.200"})
    assert forged.status_code == 429 and int(forged.headers["Retry-After"]) == 15 * 60
    session.rollback()
    assert set(session.scalars(select(LoginAttempt.address))) == {"198.51.100.1"}


@pytest.mark.parametrize("value", ["-1", "eleven", "11"])
def test_a_bad_trusted_proxies_value_is_refused(database_url, value):
    with pytest.raises(ConfigError):
        make_app(database_url, TRUSTED_PROXIES=value)
