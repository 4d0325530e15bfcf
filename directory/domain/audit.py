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

from ..database import writes
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


# --- Reads of participant data ------------------------------------------------------------------------

READ_ACTION = "participant.read"
READ_VIEWS = frozenset({"plan", "check", "referral", "slip", "inbox", "access_log", "releases"})


@writes
def record_reads(
    session: Session,
    actor_id: int | None,
    view: str,
    participant_ids: Sequence[int],
    at: datetime,
    referral_id: int | None = None,
) -> int:
    """Append one `participant.read` event per participant shown (who: the actor; which: the participant's
    id, never its code; what: the view and the referral). Returns the number of events."""
    if view not in READ_VIEWS:
        raise ValueError(f"unknown view {view!r}")
    payload = {"view": view, "referral_id": referral_id}
    ids = sorted(set(participant_ids))
    if len(ids) == 1:
        append(session, actor_id, READ_ACTION, "participant", ids[0], payload, at)
        return 1
    return append_many(session, actor_id, READ_ACTION, "participant", [(i, payload) for i in ids], at)


@dataclass(frozen=True)
class Read:
    """One recorded read of a participant's data."""

    at: datetime
    actor_id: int | None
    view: str
    referral_id: int | None


def reads_of(session: Session, participant_id: int, limit: int = 500) -> list[Read]:
    """Who looked at one participant's data, newest first."""
    rows = session.execute(
        select(AuditEvent.at, AuditEvent.actor_id, AuditEvent.payload)
        .where(
            AuditEvent.action == READ_ACTION,
            AuditEvent.object_type == "participant",
            AuditEvent.object_id == str(participant_id),
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        Read(at, actor_id, (payload or {}).get("view", "?"), (payload or {}).get("referral_id"))
        for at, actor_id, payload in rows
    ]


# --- The anchor: the chain's head kept outside the database -------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """A chain head as published: the last event's id (0 for an empty chain), its hash and its time."""

    sequence: int
    hash: str
    at: str | None = None

    def as_json(self) -> str:
        """The one-line JSON form `flask audit anchor` prints."""
        return json.dumps({"sequence": self.sequence, "hash": self.hash, "at": self.at})


def head(session: Session, now: datetime) -> Anchor:
    """The chain's head now: the last event (by id), its hash, and its time (`now` when the chain is empty).

    Read from the events themselves, not from the stored head row, which is what an anchor guards."""
    last = session.execute(
        select(AuditEvent.id, AuditEvent.hash, AuditEvent.at).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if last is None:
        return Anchor(0, GENESIS, _iso(now.astimezone(UTC)))
    return Anchor(last.id, last.hash, _iso(last.at.astimezone(UTC) if last.at.tzinfo else last.at))


class AnchorFormatError(ValueError):
    """An anchor document that is not one anchor per line, a list of anchors, or a transparency document."""


_HEX = frozenset("0123456789abcdef")


def _anchor(item: object, where: str) -> Anchor:
    if not isinstance(item, dict):
        raise AnchorFormatError(f"{where}: an anchor is an object with sequence, hash and at")
    sequence, digest = item.get("sequence"), item.get("hash")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise AnchorFormatError(f"{where}: sequence must be a whole number >= 0")
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
        raise AnchorFormatError(f"{where}: hash must be 64 lowercase hex digits")
    at = item.get("at")
    return Anchor(sequence, digest, at if isinstance(at, str) else None)


def _heads_in(document: object, found: list) -> None:
    """Every `audit_head` object anywhere in a transparency document (its closed periods carry one)."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "audit_head" and value is not None:
                found.append(value)
            else:
                _heads_in(value, found)
    elif isinstance(document, list):
        for value in document:
            _heads_in(value, found)


def _anchor_lines(text: str) -> list[Anchor]:
    anchors = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise AnchorFormatError(f"line {number}: not JSON") from None
        anchors.append(_anchor(item, f"line {number}"))
    if not anchors:
        raise AnchorFormatError("no anchor in the document")
    return anchors


def parse_anchors(text: str) -> list[Anchor]:
    """The anchors in a document: one JSON anchor per line (what `audit anchor` appends to a file), a JSON
    list of anchors, one anchor, or a transparency document whose periods carry `audit_head`."""
    try:
        document = json.loads(text)
    except ValueError:
        return _anchor_lines(text)
    if isinstance(document, dict) and "sequence" in document:
        return [_anchor(document, "the anchor")]
    if isinstance(document, list) and all(isinstance(i, dict) and "sequence" in i for i in document):
        items = document
    else:
        items = []
        _heads_in(document, items)
    if not items:
        raise AnchorFormatError("no anchor in the document (no sequence/hash, no audit_head)")
    return [_anchor(item, f"anchor {n}") for n, item in enumerate(items, 1)]


def check_anchors(session: Session, anchors: Sequence[Anchor]) -> list[str]:
    """What the log no longer holds: for each anchor whose event is missing or carries another hash, one
    sentence. Empty when every anchored head is still in the log (with `verify`, the whole chain up to
    each anchored event is then the one that was anchored)."""
    problems = []
    for anchor in anchors:
        if anchor.sequence == 0:
            if anchor.hash != GENESIS:
                problems.append("anchor at sequence 0 does not carry the genesis hash")
            continue
        stored = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == anchor.sequence))
        if stored is None:
            problems.append(f"anchored event {anchor.sequence} ({anchor.at or 'no time'}) is missing")
        elif stored != anchor.hash:
            problems.append(
                f"anchored event {anchor.sequence} ({anchor.at or 'no time'}) was rewritten: "
                f"its hash is {stored[:12]}..., the anchor says {anchor.hash[:12]}..."
            )
    return problems
