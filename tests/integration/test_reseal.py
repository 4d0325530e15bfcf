"""Old text re-sealed (issue 24): free text stored in plain before per-participant encryption is sealed by
`flask consent reseal`, once (a second run changes nothing), audited; after it, a backup holds no plain
copy, and once the participant is purged that backup no longer reveals the text."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from sqlalchemy import func, select

from directory.cli import init_database
from directory.domain import audit, keys
from directory.domain.retention import purge
from directory.extensions import db
from directory.models import AuditEvent, Goal, Referral, ReferralEvent
from tests.conftest import FIXED_NOW, make_app
from tests.factories import make_participant, make_service, make_user

GOAL = "Old goal: a room near the ferry"
WHY = "Old justification written before sealing existed"
NOTE = "Old note: come by the back office after noon"
OLD = FIXED_NOW - timedelta(days=2000)


def _backup(source, target) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _old_world(session):
    """A participant whose goal, override justification and referral note were stored in plain (as before
    sealing existed), and one purged long ago whose referral kept no text."""
    cm = make_user(session, "case_manager")
    participant = make_participant(session, cm)
    service = make_service(session, name="Old Rooms")
    session.add(Goal(participant_id=participant.id, domain="housing", text=GOAL))
    referral = Referral(
        service_id=service.id,
        participant_id=participant.id,
        action="override",
        classification="displacement",
        state="cancelled",
        reason_code="safety",
        justification=WHY,
        justification_hash=audit.text_hash(WHY),
        created_by=cm.id,
        created_at=FIXED_NOW - timedelta(days=3),
    )
    referral.events = [
        ReferralEvent(
            from_state="requested", to_state="cancelled", at=FIXED_NOW - timedelta(days=2), note=NOTE
        )
    ]
    orphan = Referral(
        service_id=service.id,
        action="request",
        classification="open_access",
        state="requested",
        created_at=FIXED_NOW - timedelta(days=3),
    )
    session.add_all([referral, orphan])
    participant.last_activity_at = OLD
    session.commit()
    return participant.id, referral.id


def _stored(session):
    goal = session.scalars(select(Goal)).one()
    referral = session.scalars(select(Referral).where(Referral.participant_id.is_not(None))).one()
    return goal.text, referral.justification, referral.events[-1].note


def test_reseal_seals_old_text_once_and_an_old_backup_loses_it_after_purge(tmp_path):
    data, key_url = tmp_path / "data.sqlite3", f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    app = make_app(f"sqlite:///{data}", KEY_STORE_URL=key_url, CLOCK=lambda: FIXED_NOW)
    runner = app.test_cli_runner()
    with app.app_context():
        init_database()
        participant_id, referral_id = _old_world(db.session)
        assert _stored(db.session) == (GOAL, WHY, NOTE)  # plain, as old rows are
        db.session.remove()
    before = tmp_path / "backup-before-reseal.sqlite3"
    _backup(data, before)
    assert GOAL.encode() in before.read_bytes()  # control: the plain text is there to find

    dry = runner.invoke(args=["consent", "reseal", "--dry-run"])
    assert dry.exit_code == 0 and "would seal 1 goals, 1 justifications, 1 notes" in dry.output
    first = runner.invoke(args=["consent", "reseal"])
    assert first.exit_code == 0, first.output
    assert "sealed 1 goals, 1 justifications, 1 notes" in first.output
    with app.app_context():
        session = db.session
        sealed = _stored(session)
        assert all(value.startswith(keys.PREFIX) for value in sealed)
        assert not {GOAL, WHY, NOTE} & {s.removeprefix(keys.PREFIX) for s in sealed}
        goal = session.scalars(select(Goal)).one()
        referral = session.get(Referral, referral_id)
        assert (goal.plain_text, referral.plain_justification, referral.events[-1].plain_note) == (
            GOAL,
            WHY,
            NOTE,
        )
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "text.reseal")).all()
        assert [e.payload for e in events] == [{"goals": 1, "justifications": 1, "notes": 1}]
        assert GOAL not in repr(events[0].payload)
        db.session.remove()

    again = runner.invoke(args=["consent", "reseal"])
    assert again.exit_code == 0 and "sealed 0 goals, 0 justifications, 0 notes" in again.output
    with app.app_context():
        assert _stored(db.session) == sealed  # idempotent: nothing sealed twice
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "text.reseal")) == 1
        assert audit.verify(db.session).ok
        db.session.remove()

    after = tmp_path / "backup-after-reseal.sqlite3"
    _backup(data, after)
    for plain in (GOAL, WHY, NOTE):
        assert plain.encode() not in after.read_bytes()  # the overwritten pages were zeroed

    with app.app_context():
        counts = purge(db.session, FIXED_NOW - timedelta(days=1095), FIXED_NOW)
        db.session.commit()
        assert counts["participants"] == 1
        db.session.remove()

    restored = tmp_path / "restored.sqlite3"
    _backup(after, restored)
    old = make_app(f"sqlite:///{restored}", KEY_STORE_URL=key_url, CLOCK=lambda: FIXED_NOW)
    with old.app_context():
        goal = db.session.scalars(select(Goal).where(Goal.participant_id == participant_id)).one()
        referral = db.session.get(Referral, referral_id)
        assert goal.plain_text == keys.UNREADABLE
        assert referral.plain_justification == keys.UNREADABLE
        assert referral.events[-1].plain_note == keys.UNREADABLE
        db.session.remove()
