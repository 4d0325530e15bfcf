"""Retention: purge participant records and free text past the retention period.

Aggregates stay (referrals keep their classification, action, state and counts; checks stay for the
unmet-need audit), and the audit chain stays valid because events only ever held hashes of free text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..database import writes
from ..models import Participant, Referral, ReferralEvent
from . import audit, keys


@writes
def purge(session: Session, before: datetime, now: datetime) -> dict[str, int]:
    """Remove participants idle since before `before` (not those under a legal hold), their goals and
    releases, and the free text of their referrals."""
    idle = select(Participant.id).where(Participant.last_activity_at < before)
    ids = list(session.scalars(idle.where(Participant.legal_hold_at.is_(None))))
    held = len(session.scalars(idle.where(Participant.legal_hold_at.is_not(None))).all())
    if not ids:
        return {"participants": 0, "referrals_scrubbed": 0, "kept_under_legal_hold": held}
    referral_ids = list(session.scalars(select(Referral.id).where(Referral.participant_id.in_(ids))))
    if referral_ids:
        session.execute(update(Referral).where(Referral.id.in_(referral_ids)).values(justification=None))
        session.execute(
            update(ReferralEvent).where(ReferralEvent.referral_id.in_(referral_ids)).values(note=None)
        )
    for participant in session.scalars(select(Participant).where(Participant.id.in_(ids))):
        session.delete(participant)  # goals go with it; referrals and checks keep no link (SET NULL)
    session.flush()
    # Last, the keys: the text sealed with them stays unreadable in every backup of the data. (Should the
    # commit that follows fail, the records stay with their text unreadable: purge errs toward forgetting.)
    destroyed = keys.store_for(session).destroy(ids)
    audit.append(
        session,
        None,
        "participant.purge",
        "participant",
        None,
        {
            "participants": len(ids),
            "referrals_scrubbed": len(referral_ids),
            "kept_under_legal_hold": held,
            "keys_destroyed": destroyed,
            "before": before.isoformat(),
        },
        now,
    )
    return {"participants": len(ids), "referrals_scrubbed": len(referral_ids), "kept_under_legal_hold": held}
