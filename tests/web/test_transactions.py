"""One owner per request's transaction: a view's writes are committed when it succeeds, rolled back when it
fails, a failed commit is a 503 (never a 2xx), and the write lock is taken only once the body is read."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from flask import abort
from sqlalchemy import func, select, text

from bench.server import live_server, request
from directory.extensions import db
from directory.models import LoginAttempt, Organization, Participant
from tests.conftest import make_app
from tests.factories import make_token, make_user


def _organizations() -> int:
    return db.session.scalar(select(func.count()).select_from(Organization))


@pytest.fixture
def writing_app(database_url):
    """The app with three test-only views that write one organization, then succeed, fail or break."""
    application = make_app(database_url)

    def add(name: str) -> None:
        db.session.add(Organization(name=name))
        db.session.flush()

    @application.post("/_test/ok")
    def ok():
        add("kept")
        return "ok", 201

    @application.post("/_test/refused")
    def refused():
        add("dropped")
        abort(400, "refused")

    @application.post("/_test/commit-fails")
    def commit_fails():
        # SQLite checks a deferred foreign key only at commit: the view succeeds, its commit fails.
        db.session.execute(text("PRAGMA defer_foreign_keys = ON"))
        db.session.execute(text("INSERT INTO location (organization_id, name) VALUES (999999, 'orphan')"))
        return "done", 200

    return application


@pytest.mark.db
def test_a_successful_view_is_committed_and_a_failed_one_rolled_back(writing_app):
    client = writing_app.test_client()
    with writing_app.app_context():
        before = _organizations()
    assert client.post("/_test/ok").status_code == 201
    assert client.post("/_test/refused").status_code == 400
    with writing_app.app_context():
        names = db.session.scalars(select(Organization.name)).all()
        assert _organizations() == before + 1
        assert "kept" in names and "dropped" not in names


def test_a_commit_that_fails_answers_503_not_the_views_200(writing_app):
    # Not rerun on PostgreSQL (no db mark): the failure is made with SQLite's deferred foreign keys.
    response = writing_app.test_client().post("/_test/commit-fails")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    with writing_app.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM location WHERE name = 'orphan'")) == 0


@pytest.mark.db
def test_a_failed_sign_in_is_counted_though_the_view_answers_401(app, client):
    with app.app_context():
        make_user(db.session, "case_manager", email="someone@test.example", password="right-password")
        db.session.commit()
    response = client.post("/login", data={"email": "someone@test.example", "password": "wrong"})
    assert response.status_code == 401
    with app.app_context():
        failed = db.session.scalars(select(LoginAttempt.success)).all()
        assert failed == [False]


def test_a_client_holding_a_half_sent_body_does_not_block_another_clients_write(database_url):
    app = make_app(database_url)
    with app.app_context():
        token = make_token(db.session, make_user(db.session, "case_manager"))
        db.session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    with live_server(database_url) as base:
        address = urlsplit(base)
        slow = socket.create_connection((address.hostname, address.port), timeout=30)
        try:
            # Headers promise a body of 5,000 bytes; one byte comes, then nothing.
            slow.sendall(
                (
                    "POST /api/v1/participants HTTP/1.1\r\n"
                    f"Host: {address.netloc}\r\nAuthorization: Bearer {token}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
                ).encode()
            )
            statuses = [
                request(base, "POST", "/api/v1/participants", {}, auth, timeout=20)[0] for _ in range(2)
            ]
        finally:
            slow.close()
    assert statuses == [201, 201]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 2
