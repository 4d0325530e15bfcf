"""Re-sealing old text: free text written before per-participant encryption existed (goals, override
justifications, referral notes stored as plain text) is sealed with its participant's key, once, so that
purge reaches it in backups too. Idempotent: sealed text is left as it is; each run that seals anything is
audited with its counts (never the text). Text with no participant left (already scrubbed by purge) is
not touched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..database import writes
from ..models import Goal, Referral, ReferralEvent
from . import audit, keys

BATCH = 500


def _plain(column):
    """Stored text that is not sealed (sealed text starts with keys.PREFIX)."""
    return column.is_not(None) & ~column.startswith(keys.PREFIX, autoescape=True)


def pending(session: Session) -> dict[str, int]:
    """How many stored texts are still plain: goals, override justifications, referral notes (those tied
    to a participant)."""
    goals = session.scalars(select(Goal.id).where(_plain(Goal.text))).all()
    justifications = session.scalars(
        select(Referral.id).where(Referral.participant_id.is_not(None), _plain(Referral.justification))
    ).all()
    notes = session.scalars(
        select(ReferralEvent.id)
        .join(Referral, Referral.id == ReferralEvent.referral_id)
        .where(Referral.participant_id.is_not(None), _plain(ReferralEvent.note))
    ).all()
    return {"goals": len(goals), "justifications": len(justifications), "notes": len(notes)}


@writes
def reseal(session: Session, now: datetime) -> dict[str, int]:
    """Seal every plain goal, justification and note of a participant with that participant's key (made on
    first use); returns how many of each were sealed. On SQLite the overwritten pages are zeroed
    (secure_delete), so a backup taken after the run holds no copy of the plain text."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        session.execute(text("PRAGMA secure_delete = ON"))
    counts = {"goals": 0, "justifications": 0, "notes": 0}
    while goals := session.scalars(
        select(Goal).where(_plain(Goal.text)).order_by(Goal.id).limit(BATCH)
    ).all():
        for goal in goals:
            goal.text = keys.seal(session, goal.participant_id, goal.text)
        counts["goals"] += len(goals)
        session.flush()
    referral = select(Referral).where(Referral.participant_id.is_not(None), _plain(Referral.justification))
    while rows := session.scalars(referral.order_by(Referral.id).limit(BATCH)).all():
        for row in rows:
            row.justification = keys.seal(session, row.participant_id, row.justification)
        counts["justifications"] += len(rows)
        session.flush()
    note = (
        select(ReferralEvent, Referral.participant_id)
        .join(Referral, Referral.id == ReferralEvent.referral_id)
        .where(Referral.participant_id.is_not(None), _plain(ReferralEvent.note))
        .order_by(ReferralEvent.id)
        .limit(BATCH)
    )
    while rows := session.execute(note).all():
        for event, participant_id in rows:
            event.note = keys.seal(session, participant_id, event.note)
        counts["notes"] += len(rows)
        session.flush()
    if any(counts.values()):
        audit.append(session, None, "text.reseal", "participant", None, dict(counts), now)
    return counts
