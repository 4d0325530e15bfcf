"""Faults, short enough for every run (the long ones are in bench/load.py): a gunicorn worker killed with
kill -9 in the middle of writes loses no acknowledged write and the server keeps answering; a database
that stops answering gives 503 with the error JSON, changes nothing, and is used again as soon as it is
back, without restarting the app."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from contextlib import contextmanager

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bench.server import live_server, request
from directory.extensions import db
from directory.models import CapacityEvent, ServiceCapacity
from tests.conftest import FIXED_NOW, make_app
from tests.factories import make_service, make_token, make_user


def _provider_world(session):
    capacity = {"maximum": 50, "available": 10, "waitlist": 0, "confirmed_at": FIXED_NOW}
    service = make_service(session, capacity=capacity)
    provider = make_user(session, "provider", organization=service.organization)
    token = make_token(session, provider)
    session.commit()
    return service.id, provider.id, token


def _workers(master_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def test_a_killed_worker_loses_no_acknowledged_write(session, database_url):
    service_id, provider_id, token = _provider_world(session)
    headers = {"Authorization": f"Bearer {token}"}
    acknowledged, attempted = [], 0
    with live_server(database_url, gunicorn_workers=2) as base:
        deadline = time.monotonic() + 30
        while len(_workers(base.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        victims = _workers(base.pid)
        assert len(victims) == 2
        for n in range(40):
            if n == 20:
                os.kill(victims[0], signal.SIGKILL)
            attempted += 1
            try:
                status, body = request(
                    base, "PUT", f"/api/v1/services/{service_id}/capacity", {"available": n % 50}, headers
                )
            except OSError:  # the killed worker's connection: not acknowledged
                continue
            if status == 200:
                acknowledged.append(body["available"])
        # The master replaced the killed worker and the server still answers.
        status, health = request(base, "GET", "/healthz")
        assert status == 200 and health["status"] == "ok"
        assert victims[0] not in _workers(base.pid)
    assert len(acknowledged) >= 38  # at most the request in flight in the killed worker fails
    session.rollback()  # end the read snapshot taken before the server's writes
    stored = session.scalar(
        select(func.count())
        .select_from(CapacityEvent)
        .where(CapacityEvent.user_id == provider_id, CapacityEvent.kind == "update")
    )
    assert len(acknowledged) <= stored <= attempted
    assert (
        session.scalar(select(ServiceCapacity.available).where(ServiceCapacity.service_id == service_id))
        == 39
    )


@contextmanager
def database_unavailable(database_url: str):
    """Make the database refuse work: PostgreSQL stops accepting connections to it and cuts the open ones;
    SQLite is held under an exclusive lock by another connection past the app's busy timeout."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        name = url.database
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        try:
            yield
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
            admin.dispose()
    else:
        holder = sqlite3.connect(url.database, timeout=5, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()


def test_an_unavailable_database_is_503_json_and_the_app_recovers(session, database_url):
    service_id, _, token = _provider_world(session)
    session.remove()
    headers = {"Authorization": f"Bearer {token}"}
    # An app of its own, with a short SQLite busy timeout so that the locked database is noticed quickly.
    app = make_app(database_url, CLOCK=lambda: FIXED_NOW, SQLITE_BUSY_TIMEOUT_MS=300)
    postgres = make_url(database_url).get_backend_name() == "postgresql"
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        with database_unavailable(database_url):
            put = client.put(
                f"/api/v1/services/{service_id}/capacity", json={"available": 3}, headers=headers
            )
            assert put.status_code == 503
            assert put.get_json()["error"]["code"] == "unavailable"
            health = client.get("/healthz")
            if postgres:  # no connection at all; SQLite readers still read under a writer's lock (WAL)
                assert health.status_code == 503 and health.get_json() == {"status": "unavailable"}
        # Back: the same app (same pool) answers again, and the refused write changed nothing.
        assert client.get("/healthz").status_code == 200
        assert (
            client.get(f"/api/v1/services/{service_id}", headers=headers).get_json()["capacity"]["available"]
            == 10
        )
        put = client.put(f"/api/v1/services/{service_id}/capacity", json={"available": 3}, headers=headers)
        assert put.status_code == 200 and put.get_json()["available"] == 3
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
