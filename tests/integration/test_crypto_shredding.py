"""Purge that reaches backups: free text is sealed with a per-participant key kept in a store of its own;
purge destroys the key, so an old backup of the data, restored without that key, no longer reveals the text.
A participant under a legal hold keeps their key. The audit chain still verifies."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from sqlalchemy import select

from directory.cli import init_database
from directory.domain import audit, keys
from directory.domain.access import Actor
from directory.domain.participants import add_goal
from directory.domain.reference import Reference
from directory.domain.referrals import transition
from directory.domain.retention import purge
from directory.extensions import db
from directory.models import Goal, Referral, ReferralEvent
from tests.conftest import FIXED_NOW, make_app
from tests.factories import make_participant, make_service, make_user

GOAL = "A quiet room near my sister"
NOTE = "Intake at the side door, bring the green card"
OLD = FIXED_NOW - timedelta(days=2000)


def _backup(source: str, target: str) -> None:
    """An online SQLite backup of the data file (what a nightly backup job takes)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def test_purge_then_an_old_backup_without_the_key_leaves_the_text_unreadable(tmp_path):
    data, key_store = tmp_path / "data.sqlite3", tmp_path / "keys.sqlite3"
    key_url = f"sqlite:///{key_store}"
    live = make_app(f"sqlite:///{data}", KEY_STORE_URL=key_url, CLOCK=lambda: FIXED_NOW)
    with live.app_context():
        init_database()
        session = db.session
        cm = make_user(session, "case_manager")
        gone = make_participant(session, cm)
        held = make_participant(session, cm)
        service = make_service(session, name="Any Food Bank", domain="food")
        reference = Reference.load(session)
        add_goal(session, Actor.of(cm), gone, "housing", GOAL, FIXED_NOW, reference)
        add_goal(session, Actor.of(cm), held, "housing", GOAL, FIXED_NOW, reference)
        referral = Referral(
            service_id=service.id,
            participant_id=gone.id,
            action="request",
            classification="open_access",
            state="requested",
            created_by=cm.id,
            created_at=FIXED_NOW,
        )
        session.add(referral)
        session.flush()
        transition(session, Actor.of(cm), referral, "cancel", FIXED_NOW, note=NOTE)
        gone.last_activity_at = held.last_activity_at = OLD
        held.legal_hold_at = FIXED_NOW
        session.commit()
        gone_id, held_id, referral_id = gone.id, held.id, referral.id
        # Nothing readable in the stored rows themselves: the data file holds ciphertext only.
        raw = session.execute(select(Goal.text)).scalars().all()
        assert all(text.startswith(keys.PREFIX) and GOAL not in text for text in raw)
        assert session.get(ReferralEvent, session.get(Referral, referral_id).events[-1].id).plain_note == NOTE
        assert keys.store_for(session).count() == 2
        db.session.remove()

    backup = tmp_path / "backup-before-purge.sqlite3"
    _backup(str(data), str(backup))
    assert GOAL.encode() not in backup.read_bytes() and NOTE.encode() not in backup.read_bytes()

    # Control: the backup restored while the key still exists reads fine (the test below is not vacuous).
    restored_copy = tmp_path / "restore-control.sqlite3"
    _backup(str(backup), str(restored_copy))
    control = make_app(f"sqlite:///{restored_copy}", KEY_STORE_URL=key_url, CLOCK=lambda: FIXED_NOW)
    with control.app_context():
        texts = [g.plain_text for g in db.session.scalars(select(Goal).where(Goal.participant_id == gone_id))]
        assert texts == [GOAL]
        db.session.remove()

    with live.app_context():
        counts = purge(db.session, FIXED_NOW - timedelta(days=1095), FIXED_NOW)
        db.session.commit()
        assert counts["participants"] == 1 and counts["kept_under_legal_hold"] == 1
        assert audit.verify(db.session).ok
        held_goal = db.session.scalars(select(Goal).where(Goal.participant_id == held_id)).one()
        assert held_goal.plain_text == GOAL  # the legal hold kept the key
        db.session.remove()

    # The old backup restored after the purge, with the key store as it now is: the text is gone.
    restored = tmp_path / "restored.sqlite3"
    _backup(str(backup), str(restored))
    after = make_app(f"sqlite:///{restored}", KEY_STORE_URL=key_url, CLOCK=lambda: FIXED_NOW)
    with after.app_context():
        session = db.session
        goal = session.scalars(select(Goal).where(Goal.participant_id == gone_id)).one()
        assert goal.plain_text == keys.UNREADABLE
        assert GOAL not in goal.text
        event = session.get(Referral, referral_id).events[-1]
        assert event.note is not None and event.plain_note == keys.UNREADABLE
        assert session.scalars(select(Goal).where(Goal.participant_id == held_id)).one().plain_text == GOAL
        db.session.remove()


def test_the_default_key_store_sits_apart_from_the_data(tmp_path):
    assert (
        keys.default_url(f"sqlite:///{tmp_path}/d.sqlite3", "/inst") == f"sqlite:///{tmp_path}/d.keys.sqlite3"
    )
    assert keys.default_url("sqlite://", "/inst") == "sqlite://"
    assert keys.default_url("postgresql+psycopg://u@h/lead", "/inst") == "sqlite:////inst/keys-lead.sqlite3"


def test_sealed_text_differs_per_participant_and_never_holds_the_plain_text(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'd.sqlite3'}", CLOCK=lambda: FIXED_NOW)
    with app.app_context():
        init_database()
        one, two = keys.seal(db.session, 1, GOAL), keys.seal(db.session, 2, GOAL)
        assert one != two and GOAL not in one
        assert keys.unseal(db.session, 1, one) == GOAL
        assert keys.unseal(db.session, 2, one) == keys.UNREADABLE  # another participant's key opens nothing
        assert keys.unseal(db.session, 1, "written before sealing") == "written before sealing"
        db.session.remove()
