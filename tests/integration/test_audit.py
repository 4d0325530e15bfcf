"""The tamper-evident audit log: a clean chain verifies; editing, deleting or reordering a row is caught and
named; concurrent writers leave one unbroken chain; a purge keeps it valid."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from directory.domain import audit
from directory.domain.access import Actor
from directory.domain.participants import add_goal
from directory.domain.reference import Reference
from directory.domain.retention import purge
from directory.models import AuditEvent, Participant
from tests.conftest import FIXED_NOW
from tests.factories import make_participant, make_user


def write_events(session, n, start=0):
    for i in range(start, start + n):
        audit.append(
            session,
            7,
            "test.event",
            "thing",
            i,
            {"n": i, "text_sha256": audit.text_hash(f"t{i}")},
            FIXED_NOW + timedelta(seconds=i),
        )
    session.commit()


def test_clean_chain_verifies(session):
    write_events(session, 20)
    result = audit.verify(session)
    assert result.ok and result.events == 20


@pytest.mark.parametrize(
    ("tamper", "bad_id"),
    [
        ("UPDATE audit_event SET payload = '{\"n\": 999}' WHERE id = 7", 7),
        ("UPDATE audit_event SET actor_id = 8 WHERE id = 3", 3),
        ("UPDATE audit_event SET action = 'x' WHERE id = 20", 20),
        ("DELETE FROM audit_event WHERE id = 5", 5),
        ("DELETE FROM audit_event WHERE id = 20", 20),
    ],
)
def test_tampering_is_found_and_named(session, runner, tamper, bad_id):
    write_events(session, 20)
    session.execute(text(tamper))
    session.commit()
    result = audit.verify(session)
    assert not result.ok and result.first_bad_id == bad_id
    cli = runner.invoke(args=["audit", "verify"])
    assert cli.exit_code == 1
    assert f"event {bad_id}" in cli.output


def test_reordering_is_found(session):
    write_events(session, 10)
    # Swap the contents of events 4 and 5 (ids stay in order, contents do not).
    rows = {r.id: r for r in session.query(AuditEvent).filter(AuditEvent.id.in_([4, 5]))}
    four, five = rows[4], rows[5]
    values = [(e.at, e.action, e.object_id, e.payload, e.prev_hash, e.hash) for e in (four, five)]
    # Move the unique hashes out of the way first, then swap.
    four.hash, five.hash = "a" * 64, "b" * 64
    session.flush()
    for event, (at, action, object_id, payload, prev_hash, digest) in zip(
        (four, five), reversed(values), strict=True
    ):
        event.at, event.action, event.object_id, event.payload = at, action, object_id, payload
        event.prev_hash, event.hash = prev_hash, digest
    session.commit()
    result = audit.verify(session)
    assert not result.ok and result.first_bad_id == 4


def test_cli_on_a_clean_log(session, runner):
    write_events(session, 3)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "3 events" in result.output


def test_purge_removes_participant_text_and_keeps_the_chain(app, session, runner):
    cm = make_user(session, "case_manager")
    old = make_participant(session, cm)
    goal_text = "A place with my dog"
    add_goal(session, Actor.of(cm), old, "housing", goal_text, FIXED_NOW, Reference.load(session))
    old.last_activity_at = FIXED_NOW - timedelta(days=2000)
    keep = make_participant(session, cm)
    keep.last_activity_at = FIXED_NOW
    session.commit()
    counts = purge(session, FIXED_NOW - timedelta(days=1095), FIXED_NOW)
    session.commit()
    assert counts["participants"] == 1
    assert session.get(Participant, old.id) is None and session.get(Participant, keep.id) is not None
    assert audit.verify(session).ok
    dump = " ".join(str(row) for row in session.execute(text("SELECT * FROM audit_event")))
    assert goal_text not in dump


def test_concurrent_writers_leave_one_chain(app, database_url):
    """50 writers at once, each in its own connection and transaction."""
    engine = create_engine(
        database_url, connect_args={"timeout": 30} if database_url.startswith("sqlite") else {}
    )
    from directory.database import begin_write, configure_engine

    configure_engine(engine, busy_timeout_ms=30000)
    errors = []

    def writer(i):
        try:
            with Session(engine) as s:
                begin_write(s)
                audit.append(s, i, "test.concurrent", "writer", i, {"i": i}, FIXED_NOW)
                s.commit()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine) as s:
        result = audit.verify(s)
        assert result.ok and result.events == 50
        assert sorted(r for (r,) in s.execute(text("SELECT actor_id FROM audit_event"))) == list(range(50))
    engine.dispose()
