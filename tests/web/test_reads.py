"""Read-only views: no transaction on PostgreSQL (a transaction on SQLite), and no write through them."""

import pytest
from sqlalchemy import event, select

from directory.database import end_reading, read_without_transaction
from directory.extensions import db
from directory.models import Organization
from directory.web.reads import reads_only
from tests.factories import LOW_BARRIER, make_service, make_token, make_user


def record_transaction_states(app) -> list[tuple[str, bool]]:
    """(statement, ran inside a database transaction) for every statement the app's engine runs from now."""
    states: list[tuple[str, bool]] = []

    def record(conn, _cursor, statement, *_args):
        raw = conn.connection.driver_connection
        if statement.startswith("BEGIN"):
            return  # SQLite's own BEGIN (the app emits it): the statements after it are the ones that count
        in_transaction = not raw.autocommit if conn.dialect.name == "postgresql" else raw.in_transaction
        states.append((statement.split()[0], in_transaction))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
    return states


@pytest.fixture
def world(session):
    service = make_service(session, capacity={"maximum": 10, "available": 4, "waitlist": 0}, **LOW_BARRIER)
    case_manager = make_user(session, "case_manager")
    provider = make_user(session, "provider", organization=service.organization)
    headers = {
        "staff": {"Authorization": f"Bearer {make_token(session, case_manager)}"},
        "provider": {"Authorization": f"Bearer {make_token(session, provider)}"},
    }
    session.commit()
    return service, headers


def test_searches_run_without_a_transaction_on_postgresql_and_writes_still_get_one(
    app, client, session, world
):
    service, headers = world
    service_id = service.id  # read now: the test's own statements must not be counted below
    # Requests share this test's session (one app context); in production each request starts afresh.
    session.close()
    postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    states = record_transaction_states(app)

    found = client.get("/api/v1/services?q=", headers=headers["staff"])
    assert found.status_code == 200 and [item["id"] for item in found.get_json()["items"]] == [service_id]
    assert client.get(f"/api/v1/services/{service_id}", headers=headers["staff"]).status_code == 200
    reads = list(states)
    assert reads and {kind for kind, _ in reads} == {"SELECT"}
    # PostgreSQL: autocommit (no BEGIN/ROLLBACK round trips); SQLite keeps its read transaction.
    assert [in_transaction for _, in_transaction in reads] == [not postgres] * len(reads), reads

    states.clear()
    # The pooled connection went back to ordinary transactions: a write runs inside one.
    put = client.put(
        f"/api/v1/services/{service.id}/capacity", json={"available": 3}, headers=headers["provider"]
    )
    assert put.status_code == 200, put.get_json()
    assert any(kind == "UPDATE" for kind, _ in states)
    assert all(in_transaction for _, in_transaction in states), states


def test_a_read_only_view_that_writes_fails_and_stores_nothing(app, client, session, caplog):
    def sneaky():
        db.session.add(Organization(name="Written by a read-only view"))
        db.session.commit()
        return "stored"

    app.add_url_rule("/test/sneaky-write", "sneaky_write", reads_only(sneaky))
    with caplog.at_level("ERROR"):
        response = client.get("/test/sneaky-write")
    assert response.status_code == 500  # a programming error: logged, and nothing written
    assert any(
        "declared read-only" in str(record.exc_info[1]) for record in caplog.records if record.exc_info
    )
    session.expire_all()
    assert session.scalar(select(Organization).where(Organization.name.like("Written by%"))) is None


def test_a_session_already_in_a_transaction_is_left_as_it_is(app, session):
    session.add(Organization(name="Pending in an open transaction"))
    session.flush()
    assert read_without_transaction(session) is False
    session.commit()  # the pending write is still an ordinary one
    assert session.scalar(select(Organization.id).where(Organization.name.like("Pending%"))) is not None
    end_reading(session)  # nothing to end: harmless
