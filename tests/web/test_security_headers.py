"""Security headers and production settings."""

import secrets

import pytest

from directory import create_app
from directory.config import ConfigError, refuse_demo_users
from directory.extensions import db
from tests.factories import make_user


def test_headers_on_pages_and_api(client):
    for url in ("/search", "/api/v1/services", "/api/v1/nothing"):
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Request-Id"]


def test_each_response_gets_its_own_nonce(client):
    first = client.get("/search").headers["Content-Security-Policy"]
    second = client.get("/search").headers["Content-Security-Policy"]
    assert first != second


def test_production_refuses_weak_keys_and_demo_users(database_url, session):
    with pytest.raises(ConfigError):
        create_app({"DATABASE_URL": database_url, "DIRECTORY_ENV": "production", "SECRET_KEY": "short"})
    for weak in (
        "k" * 40,
        "a" * 64,
        "abcd" * 16,
        "0123456789abcdef" * 4,
        "correct-horse-battery-staple-1234"[:31],
    ):
        with pytest.raises(ConfigError):
            create_app({"DATABASE_URL": database_url, "DIRECTORY_ENV": "production", "SECRET_KEY": weak})
    strong = secrets.token_hex(32)
    app = create_app({"DATABASE_URL": database_url, "DIRECTORY_ENV": "production", "SECRET_KEY": strong})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SCHEDULER"] == "off"
    try:
        refuse_demo_users(app)  # no demo users: fine
        make_user(session, "admin", is_demo=True)
        session.commit()
        with pytest.raises(ConfigError):
            refuse_demo_users(app)
    finally:
        with app.app_context():
            db.engine.dispose()  # this app's own pool: left open, its connections warn when collected
