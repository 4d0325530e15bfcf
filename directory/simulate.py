"""A scripted month of activity on the demo site, through the domain functions only: checks, referrals of
every kind, provider updates and decisions, expiries. For the audit dashboard's tests and demos."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .config import SiteConfig
from .domain import capacity as cap
from .domain.access import SYSTEM, Actor
from .domain.capacity_updates import update_capacity
from .domain.clock import SiteClock
from .domain.errors import DomainError
from .domain.participants import create_participant
from .domain.reference import Reference
from .domain.referrals import Decline, ReferralRequest, check, create_referral, transition
from .domain.transparency import publish_closed
from .models import DECLINE_REASONS, Service, User

REASONS = ("acute_need", "safety", "eligibility", "participant_choice", "other")


@dataclass
class SimulationLog:
    """What the simulation did, for tests to count independently of the dashboard's code."""

    referrals: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    published: list[str] = field(default_factory=list)  # transparency periods that closed and were stored


def simulate_month(
    session: Session, site: SiteConfig, now: datetime, seed: int = 1, days: int = 30
) -> SimulationLog:
    """Play `days` days of referrals ending at `now`; the caller commits."""
    rng = random.Random(seed)
    log = SimulationLog()
    reference = Reference.load(session)
    case_managers = session.scalars(
        select(User).where(User.role == "case_manager", User.active.is_(True))
    ).all()
    if not case_managers:
        raise RuntimeError("no case managers: load the demo site first")
    services = session.scalars(select(Service).where(Service.status == "active").order_by(Service.id)).all()
    tracked = [s for s in services if s.capacity is not None]
    places = list(reference.places)
    start = now - timedelta(days=days)
    for day in range(days):
        moment = start + timedelta(days=day, hours=9)
        # Providers keep most numbers fresh every morning, so that every classification keeps occurring.
        for service in tracked:
            if rng.random() < 0.6:
                _refresh(session, service, moment, rng)
        for _ in range(rng.randint(2, 6)):
            cm = rng.choice(case_managers)
            actor = Actor.of(cm)
            participant = create_participant(
                session,
                actor,
                {"languages": [rng.choice(["en", "es", "so", "vi"])]},
                rng.choice(places),
                moment,
                reference,
            )
            service = rng.choice(tracked if rng.random() < 0.85 else services)
            result = check(session, actor, service, participant, moment, site)
            log.checks.append(
                {
                    "at": moment,
                    "service_id": service.id,
                    "classification": result.classification,
                    "unmet": result.classification not in cap.AVAILABLE_NOW and not result.alternatives,
                    "domain": service.primary_domain,
                }
            )
            action = _choose(result.actions, rng)
            if action is None:
                continue
            extra = {}
            if action == "override":
                extra = {
                    "reason_code": rng.choice(REASONS),
                    "justification": "Cannot wait: the participant's situation is unsafe tonight.",
                }
            if result.alternatives and rng.random() < 0.5:
                # Half the participants who decline the alternatives say why (the API leaves it optional).
                extra["decline_reason"] = rng.choice(DECLINE_REASONS)
            try:
                referral = create_referral(
                    session, actor, service, participant, ReferralRequest(action, **extra), moment, site
                )
            except DomainError:
                continue
            log.referrals.append(
                {
                    "id": referral.id,
                    "at": moment,
                    "action": action,
                    "classification": referral.classification,
                    "hold": referral.hold,
                    "reason_code": referral.reason_code,
                    "service_id": service.id,
                    "provider": service.organization.name,
                    "case_manager": cm.email,
                    "alternatives": len(referral.alternatives),
                    "decline_reason": referral.decline_reason,
                    "outcome": referral.state,
                    # Whether the outcome comes back to the app (no: Part 2 without a release, confidential).
                    "shared": referral.outcome_shared and referral.reference is None,
                }
            )
            _decide(session, referral, moment, rng, log)
        _expire(session, moment + timedelta(hours=20), log)
    session.flush()
    # The month's closed periods are published like the scheduled job would (closed periods only).
    log.published = publish_closed(
        session, SYSTEM, SiteClock(site.time_zone, lambda: now), site.transparency_period
    )
    return log


def _refresh(session: Session, service: Service, moment: datetime, rng: random.Random) -> None:
    row = service.capacity
    provider = Actor(None, "provider", service.organization_id)
    available = rng.randint(0, min(row.maximum, 6))
    waitlist = rng.choice([0, 0, 1, 3, 6])
    changes = {"available": available, "waitlist": waitlist}
    if service.lead_fundable and row.lead_funded_maximum:
        changes["lead_funded_available"] = rng.randint(0, row.lead_funded_maximum)
    update_capacity(session, provider, service.id, changes, "system", moment)


def _choose(actions: list[str], rng: random.Random) -> str | None:
    if not actions:
        return None
    if "override" in actions and rng.random() < 0.35:
        return "override"
    return actions[0]


def _decide(session: Session, referral, moment: datetime, rng: random.Random, log: SimulationLog) -> None:
    if referral.state not in ("held", "requested", "waitlisted") or rng.random() < 0.3:
        return  # left open: expiry or a later day decides
    provider = Actor(None, "provider", referral.service.organization_id)
    verb = "accept" if rng.random() < 0.7 else "decline"
    # The reason follows the referral's id, not the random stream, so the month's draws are unchanged.
    reason = Decline("did_not_arrive" if referral.id % 2 else "other") if verb == "decline" else None
    transition(
        session, provider, referral, verb, moment + timedelta(hours=rng.randint(1, 30)), decline=reason
    )
    _record_outcome(log, referral)


def _expire(session: Session, moment: datetime, log: SimulationLog) -> None:
    from .domain.referrals import due_for_expiry, load_referral

    for referral_id in due_for_expiry(session, moment):
        referral = load_referral(session, referral_id)
        transition(session, SYSTEM, referral, "expire", moment)
        _record_outcome(log, referral)


def _record_outcome(log: SimulationLog, referral) -> None:
    for entry in log.referrals:
        if entry["id"] == referral.id:
            entry["outcome"] = referral.state
            entry["closed_at"] = referral.closed_at
