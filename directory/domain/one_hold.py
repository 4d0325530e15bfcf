"""One hold per need (domain.md): a participant's holds at one level of care (the same taxonomy term, e.g.
two emergency-shelter beds) are the choice of the case manager, not an accident.

A second hold at the same level needs an explicit choice: release the other, or keep both for a reason
from a short list (participant choosing: the second hold lasts at most an hour); never more than two held
units at one level of care. When a provider accepts one referral, the participant's other held units at the
same level are released; their providers learn only "hold released". Waitlist places, requests (including
coordinated entry) and other levels of care are never released automatically.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import KEEP_BOTH_REASONS, Participant, Referral, ReferralEvent, Service, ServiceCapacity
from ..words import N_, Words
from . import audit, holds
from .capacity_updates import mark_holds_at_risk, snapshot
from .errors import ValidationError
from .notifications import notify, organization_staff

OPEN_STATES = ("held", "requested", "waitlisted")
MAX_HELD_PER_LEVEL = 2
PARTICIPANT_CHOOSING = timedelta(hours=1)
MAX_RELEASES = 10
KEEP_BOTH_LABELS = {
    "participant_choosing": N_("The participant is choosing between them (this hold lasts at most 1 hour)"),
    "eligibility_uncertain": N_("Eligibility is uncertain until intake"),
    "next_step": N_("This is the next step after the other one"),
}
RELEASE_LABELS = {
    "released": "Hold released",
    "placed_elsewhere": "Hold released",
}


def levels_of_care(service: Service) -> frozenset[str]:
    """The service's levels of care: its taxonomy terms below an IIP domain (a domain alone is not one)."""
    return frozenset(term.id for term in service.categories if term.parent_id is not None)


def same_level(a: Service, b: Service) -> bool:
    """Whether two services share a level of care (a taxonomy term)."""
    return bool(levels_of_care(a) & levels_of_care(b))


def participant_holds(session: Session, participant: Participant | None, domain: str) -> list[Referral]:
    """The participant's open referrals (held, requested, waitlisted) in an IIP domain, oldest first."""
    if participant is None:
        return []
    return list(
        session.scalars(
            select(Referral)
            .join(Service, Service.id == Referral.service_id)
            .where(
                Referral.participant_id == participant.id,
                Referral.state.in_(OPEN_STATES),
                Service.primary_domain == domain,
            )
            .order_by(Referral.created_at, Referral.id)
        )
    )


def held_at_level(referrals: Iterable[Referral], service: Service) -> list[Referral]:
    """Those of the referrals that hold a unit at the service's level of care (the service itself too)."""
    return [r for r in referrals if r.state == "held" and same_level(r.service, service)]


def parse_release_ids(raw: object) -> tuple[int, ...]:
    """`release_referral_ids` from JSON (a list of ids) or a form (a list of digit strings)."""
    if raw is None or raw == [] or raw == "":
        return ()
    if not isinstance(raw, list | tuple) or len(raw) > MAX_RELEASES:
        raise ValidationError(
            Words(N_("release_referral_ids is a list of referral ids")), "release_referral_ids"
        )
    ids = []
    for value in raw:
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(
                Words(N_("release_referral_ids is a list of referral ids")), "release_referral_ids"
            )
        ids.append(value)
    return tuple(dict.fromkeys(ids))


def parse_keep_both(raw: object) -> str | None:
    """`keep_both_reason`: one of the short list, or None."""
    if raw is None or raw == "":
        return None
    if raw not in KEEP_BOTH_REASONS:
        raise ValidationError(
            Words(N_("keep_both_reason must be one of %(choices)s"), choices=", ".join(KEEP_BOTH_REASONS)),
            "keep_both_reason",
        )
    return raw


@dataclass(frozen=True)
class Choice:
    """What a second hold at the same level of care needs, decided: the holds to release, the reason kept."""

    release: tuple[Referral, ...]
    keep_both_reason: str | None
    missing: Words | None  # why the choice is incomplete (answered 409 second_hold), None when complete


def decide(
    same_level_held: Sequence[Referral],
    will_hold: bool,
    release_ids: Sequence[int],
    keep_both_reason: str | None,
) -> Choice:
    """The explicit choice a new hold needs, given the participant's holds at its level of care.

    Release ids must name those holds (400 otherwise). A missing or impossible choice comes back as
    `missing` for the caller to answer 409 with the fresh check."""
    by_id = {r.id: r for r in same_level_held}
    unknown = [i for i in release_ids if i not in by_id]
    if unknown:
        raise ValidationError(
            Words(
                N_("referral %(value)s is not one of this participant's holds at this level of care"),
                value=unknown[0],
            ),
            "release_referral_ids",
        )
    release = tuple(by_id[i] for i in release_ids)
    remaining = [r for r in same_level_held if r.id not in release_ids]
    if not will_hold or not remaining:
        return Choice(release, None, None)
    if len(remaining) >= MAX_HELD_PER_LEVEL:
        return Choice(
            release,
            None,
            Words(
                N_(
                    "the participant already holds %(held)s units at this level of care: at most "
                    "%(most)s; release one"
                ),
                held=len(remaining),
                most=MAX_HELD_PER_LEVEL,
            ),
        )
    if keep_both_reason is None:
        return Choice(
            release,
            None,
            Words(
                N_(
                    "the participant already holds a unit at this level of care: release it, or keep "
                    "both with a reason"
                )
            ),
        )
    return Choice(release, keep_both_reason, None)


def capped_expiry(expires_at: datetime, keep_both_reason: str | None, now: datetime) -> datetime:
    """A second hold kept while the participant chooses lasts at most an hour."""
    if keep_both_reason == "participant_choosing":
        return min(expires_at, now + PARTICIPANT_CHOOSING)
    return expires_at


def lock_rows(session: Session, service_ids: Iterable[int]) -> dict[int, ServiceCapacity]:
    """Lock capacity rows in service-id order (the order every writer that takes several uses)."""
    rows = session.scalars(
        select(ServiceCapacity)
        .where(ServiceCapacity.service_id.in_(sorted(set(service_ids))))
        .order_by(ServiceCapacity.service_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.service_id: row for row in rows}


def release(
    session: Session, referrals: Sequence[Referral], reason: str, actor_id: int | None, now: datetime
) -> list[tuple[Referral, dict | None, dict | None]]:
    """End these holds (the units are free again): cancelled, with why. Returns (referral, before, after)."""
    rows = lock_rows(session, [r.service_id for r in referrals])
    done = []
    for referral in referrals:
        session.refresh(referral)
        if referral.state != "held":
            continue  # closed meanwhile by another writer
        row = rows.get(referral.service_id)
        before = snapshot(row) if row is not None else None
        if row is not None:
            holds.release(holds.Counts.of(row), referral.hold, referral.state, False).store(row)
            mark_holds_at_risk(session, row, now)
        referral.events.append(
            ReferralEvent(at=now, actor_id=actor_id, from_state="held", to_state="cancelled")
        )
        referral.state = "cancelled"
        referral.closed_at = now
        referral.closed_reason = reason
        referral.at_risk = False
        done.append((referral, before, snapshot(row) if row is not None else None))
    session.flush()
    return done


def announce(
    session: Session,
    released: Sequence[tuple[Referral, dict | None, dict | None]],
    actor_id: int | None,
    because_of: Referral,
    now: datetime,
) -> None:
    """Audit each release; tell its provider only "hold released", and its case manager why."""
    for referral, before, after in released:
        audit.append(
            session,
            actor_id,
            "referral.release",
            "referral",
            referral.id,
            {
                "service_id": referral.service_id,
                "from": "held",
                "to": "cancelled",
                "reason": referral.closed_reason,
                "hold": referral.hold,
                "for_referral_id": because_of.id,
                "capacity_before": before,
                "capacity_after": after,
            },
            now,
        )
        service = referral.service
        notify(
            session,
            organization_staff(session, service.organization_id),
            "referral_released",
            Words(N_("Hold released: %(service)s"), service=service.name),
            Words(
                N_("The hold for referral %(id)s at %(service)s was released. The unit is free again."),
                id=referral.id,
                service=service.name,
            ),
            now,
            link=f"/provider/referrals/{referral.id}",
        )
        if referral.closed_reason == "placed_elsewhere":
            sentence = N_(
                "Referral %(other_id)s to %(other)s was accepted, so the hold at %(service)s (referral "
                "%(id)s) was released: one hold per need."
            )
        else:
            sentence = N_(
                "The hold at %(service)s (referral %(id)s) was released for referral %(other_id)s to "
                "%(other)s."
            )
        words = Words(
            sentence,
            other_id=because_of.id,
            other=because_of.service.name,
            service=service.name,
            id=referral.id,
        )
        notify(
            session,
            [referral.created_by],
            "referral_released",
            Words(N_("Hold released: %(service)s"), service=service.name),
            words,
            now,
            link=f"/referrals/{referral.id}",
        )


def release_candidates(session: Session, accepted: Referral) -> list[Referral]:
    """The participant's other held units at the level of care of a referral being accepted.

    None when the acceptance itself must not reach the case manager (a Part 2 program without a release):
    releasing would tell it. For a confidential service, only the holds its own case manager made."""
    if accepted.participant is None or not accepted.outcome_shared:
        return []
    return [
        r
        for r in held_at_level(
            participant_holds(session, accepted.participant, accepted.service.primary_domain),
            accepted.service,
        )
        if r.id != accepted.id and (accepted.reference is None or r.created_by == accepted.created_by)
    ]


def release_on_accept(session: Session, accepted: Referral, now: datetime) -> None:
    """The provider accepted: the participant's other held units at the same level of care are released
    (their rows were locked with the accepted one's: referrals.transition)."""
    others = release_candidates(session, accepted)
    if not others:
        return
    released = release(session, others, "placed_elsewhere", None, now)
    announce(session, released, None, accepted, now)
