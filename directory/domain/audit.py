"""The tamper-evident audit log: hash-chained events appended under a lock on the chain head.

Each event's hash covers the previous hash and the event's own canonical content (id, time, actor,
action, object, payload). Free text never enters the log, only its SHA-256, so purging participant
data leaves every hash verifiable. The application never updates or deletes events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..models import AuditEvent, AuditHead

GENESIS = "0" * 64


def text_hash(text: str | None) -> str | None:
    """The SHA-256 of a free text (None stays None): what the log keeps instead of the words."""
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def canonical(event_id: int, at: datetime, actor_id, action, object_type, object_id, payload) -> str:
    """The canonical JSON text of an event's content (sorted keys, no spaces)."""
    content = {
        "id": event_id,
        "at": _iso(at),
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "payload": payload,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, content: str) -> str:
    """The event hash: SHA-256 over the previous hash and the canonical content."""
    return hashlib.sha256((prev_hash + "\n" + content).encode("utf-8")).hexdigest()


def append(
    session: Session,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id,
    payload: dict,
    at: datetime,
) -> AuditEvent:
    """Append an event in the caller's transaction, holding the chain head's row lock until commit."""
    at = at.astimezone(UTC)
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    event_id = (head.last_event_id or 0) + 1
    payload = json.loads(json.dumps(payload, default=str))  # exactly what the JSON column will give back
    content = canonical(event_id, at, actor_id, action, object_type, object_id, payload)
    digest = chain_hash(head.last_hash, content)
    event = AuditEvent(
        id=event_id,
        at=at,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        payload=payload,
        prev_hash=head.last_hash,
        hash=digest,
    )
    session.add(event)
    head.last_event_id = event_id
    head.last_hash = digest
    head.events = (head.events or 0) + 1
    session.flush()
    return event


def append_many(
    session: Session,
    actor_id: int | None,
    action: str,
    object_type: str,
    entries: Sequence[tuple[object, dict]],
    at: datetime,
) -> int:
    """Append one event per (object id, payload) as one batch under one lock of the chain head.

    For bulk changes (an import): the same chain as `append` gives event by event, written in one insert.
    Payloads must be plain JSON data already (string keys; strings, numbers, booleans, None, lists, dicts):
    they are hashed as given, without `append`'s round trip through JSON. Returns the number of events.
    """
    if not entries:
        return 0
    at = at.astimezone(UTC)
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    event_id, prev_hash = head.last_event_id or 0, head.last_hash
    rows = []
    for object_id, payload in entries:
        event_id += 1
        object_key = None if object_id is None else str(object_id)
        digest = chain_hash(
            prev_hash, canonical(event_id, at, actor_id, action, object_type, object_key, payload)
        )
        rows.append(
            {
                "id": event_id,
                "at": at,
                "actor_id": actor_id,
                "action": action,
                "object_type": object_type,
                "object_id": object_key,
                "payload": payload,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    connection = session.connection()  # Core: the ORM's bulk path cost a large import a second per 100,000
    for start in range(0, len(rows), 2000):
        connection.execute(insert(AuditEvent.__table__), rows[start : start + 2000])
    head.last_event_id, head.last_hash = event_id, prev_hash
    head.events = (head.events or 0) + len(rows)
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class Verification:
    """The result of recomputing the chain."""

    ok: bool
    events: int
    first_bad_id: int | None = None
    reason: str | None = None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Recompute the chain in id order; name the first event that was edited, removed or reordered."""
    # Plain rows, not ORM objects: the walk reads each event once and a million of them must stay fast.
    columns = (
        AuditEvent.id,
        AuditEvent.at,
        AuditEvent.actor_id,
        AuditEvent.action,
        AuditEvent.object_type,
        AuditEvent.object_id,
        AuditEvent.payload,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    )
    result = session.execute(select(*columns).order_by(AuditEvent.id).execution_options(yield_per=batch))
    try:
        return _walk(session, result)
    finally:
        result.close()  # a server-side cursor on PostgreSQL: close it even when we stop early


def _walk(session: Session, rows) -> Verification:
    prev_hash, expected_id, count = GENESIS, 1, 0
    for event in rows:
        if event.id != expected_id:
            return Verification(
                False, count, expected_id, f"event {expected_id} is missing (next is {event.id})"
            )
        if event.prev_hash != prev_hash:
            return Verification(
                False, count, event.id, "its previous hash does not match the event before it"
            )
        content = canonical(
            event.id,
            event.at,
            event.actor_id,
            event.action,
            event.object_type,
            event.object_id,
            event.payload,
        )
        if chain_hash(prev_hash, content) != event.hash:
            return Verification(False, count, event.id, "its content does not match its hash (edited)")
        prev_hash, expected_id, count = event.hash, expected_id + 1, count + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_hash != prev_hash or (head.last_event_id or 0) != expected_id - 1):
        return Verification(False, count, expected_id, "events at the end of the chain are missing")
    return Verification(True, count)
