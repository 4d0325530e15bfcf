"""Providers keep their numbers: update and confirm, with history, at-risk holds and the audit log.

The provider's numbers are the truth: an update below the units held by pending referrals is
accepted, and the holds beyond availability are marked at risk, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..database import writes
from ..models import MAX_COUNT, CapacityEvent, Referral, Service, ServiceCapacity
from ..words import N_, Words
from . import audit
from .access import Actor, require_capacity_manager
from .audit_questions import record_baseline
from .errors import Conflict, NotFound, ValidationError

FIELDS = ("maximum", "available", "waitlist", "lead_funded_maximum", "lead_funded_available")
NULLABLE = frozenset({"waitlist", "available"})


def snapshot(row: ServiceCapacity) -> dict:
    """The numbers of a capacity row as plain data (for history, audit and referral snapshots)."""
    return {
        "unit": row.unit_id,
        "maximum": row.maximum,
        "available": row.available,
        "waitlist": row.waitlist,
        "lead_funded_maximum": row.lead_funded_maximum,
        "lead_funded_available": row.lead_funded_available,
        "held_general": row.held_general,
        "held_lead": row.held_lead,
        "confirmed_at": row.confirmed_at.isoformat() if row.confirmed_at else None,
    }


def parse_changes(body: object) -> dict[str, int | None]:
    """Validate an update's fields: known names, integers 0-100,000 (waitlist and available may be null)."""
    if not isinstance(body, Mapping):
        raise ValidationError(Words(N_("the body must be a JSON object")), None)
    if not body:
        raise ValidationError(Words(N_("give at least one of %(choices)s"), choices=", ".join(FIELDS)), None)
    changes: dict[str, int | None] = {}
    for name, value in body.items():
        if name not in FIELDS:
            raise ValidationError(
                Words(
                    N_("unknown field %(name)r; allowed: %(choices)s"), name=name, choices=", ".join(FIELDS)
                ),
                str(name)[:100],
            )
        if value is None:
            if name not in NULLABLE:
                raise ValidationError(Words(N_("%(name)s cannot be null"), name=name), name)
            changes[name] = None
            continue
        # bool is an int in Python: refuse it explicitly, as well as floats and strings.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(
                Words(
                    N_("%(name)s must be a whole number from 0 to %(max_count)s"),
                    name=name,
                    max_count=format(MAX_COUNT, ","),
                ),
                name,
            )
        if not 0 <= value <= MAX_COUNT:
            raise ValidationError(
                Words(
                    N_("%(name)s must be from 0 to %(max_count)s"),
                    name=name,
                    max_count=format(MAX_COUNT, ","),
                ),
                name,
            )
        changes[name] = value
    return changes


def lock_capacity(session: Session, service_id: int) -> tuple[Service, ServiceCapacity]:
    """Load a service and lock its capacity row for this transaction (row lock on PostgreSQL)."""
    service = session.get(Service, service_id)
    if service is None:
        raise NotFound(Words(N_("no service %(service_id)s"), service_id=service_id))
    row = session.execute(
        select(ServiceCapacity)
        .where(ServiceCapacity.service_id == service_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        raise Conflict(Words(N_("this service does not track capacity (open access)")), "service_id")
    return service, row


@dataclass(frozen=True, slots=True)
class HeldUnit:
    """A pending referral holding a unit of a service: what the at-risk rule needs to know of it."""

    referral_id: int
    hold: str  # "general" or "lead"
    at_risk: bool


@dataclass(frozen=True, slots=True)
class NewNumbers:
    """What new numbers do to a capacity row: its numbers after, and the holds they put at risk."""

    values: dict[str, int | None]
    at_risk: tuple[int, ...]
    newly_at_risk: tuple[int, ...]
    no_longer_at_risk: tuple[int, ...]


# Each invariant a set of numbers can break: (problem code, the field it is shown at, the API's message).
NOT_LEAD_FUNDABLE_TEXT = (
    "this service is not LEAD-fundable (religious requirement, conversion therapy, or housing that "
    "excludes active use or sex work), so it cannot hold LEAD-funded units"
)
PROBLEMS = {
    "available_over_maximum": ("available", "available cannot be more than maximum"),
    "lead_available_over_lead_maximum": (
        "lead_funded_available",
        "lead_funded_available cannot be more than lead_funded_maximum",
    ),
    "not_lead_fundable": ("lead_funded_maximum", NOT_LEAD_FUNDABLE_TEXT),
}


def number_problems(values: Mapping[str, int | None], lead_fundable: bool) -> list[str]:
    """Every invariant (domain.md) a set of numbers breaks, as problem codes (PROBLEMS), in field order."""
    problems = []
    if values["available"] is not None and values["available"] > values["maximum"]:
        problems.append("available_over_maximum")
    if values["lead_funded_available"] > values["lead_funded_maximum"]:
        problems.append("lead_available_over_lead_maximum")
    if values["lead_funded_maximum"] > 0 and not lead_fundable:
        problems.append("not_lead_fundable")
    return problems


def check_numbers(values: Mapping[str, int | None], lead_fundable: bool) -> None:
    """The invariants of a set of numbers (domain.md): raise ValidationError naming the first broken one."""
    problems = number_problems(values, lead_fundable)
    if problems:
        field, message = PROBLEMS[problems[0]]
        raise ValidationError(message, field)


def holds_at_risk(
    held: Sequence[HeldUnit], held_general: int, held_lead: int, available: int | None, lead_available: int
) -> tuple[list[int], list[int], list[int]]:
    """The holds beyond the free units, newest first (`held` comes newest first).

    Returns (ids at risk, ids newly at risk, ids no longer at risk).
    """
    beyond = {"general": max(0, held_general - (available or 0)), "lead": max(0, held_lead - lead_available)}
    seen = {"general": 0, "lead": 0}
    at_risk, newly, cleared = [], [], []
    for unit in held:
        risky = seen[unit.hold] < beyond[unit.hold]
        seen[unit.hold] += 1
        if risky:
            at_risk.append(unit.referral_id)
            if not unit.at_risk:
                newly.append(unit.referral_id)
        elif unit.at_risk:
            cleared.append(unit.referral_id)
    return sorted(at_risk), newly, cleared


def decide(
    current: Mapping[str, int | None],
    changes: Mapping[str, int | None],
    lead_fundable: bool,
    held: Sequence[HeldUnit],
) -> NewNumbers:
    """The one rule for new capacity numbers, whatever their source (provider page, API, link, import).

    `current` holds the row's numbers and held counts; `changes` the numbers the source gives. The numbers are
    accepted even below the units held (the provider's numbers are the truth); the holds beyond them are at
    risk. Raises ValidationError when the numbers break an invariant.
    """
    values = {name: current[name] for name in FIELDS}
    values.update((name, changes[name]) for name in FIELDS if name in changes)
    check_numbers(values, lead_fundable)
    at_risk, newly, cleared = holds_at_risk(
        held,
        current["held_general"],
        current["held_lead"],
        values["available"],
        values["lead_funded_available"],
    )
    return NewNumbers(values, tuple(at_risk), tuple(newly), tuple(cleared))


def held_units(session: Session, service_ids: Iterable[int]) -> dict[int, list[HeldUnit]]:
    """The held referrals of these services, newest first per service (one query)."""
    found: dict[int, list[HeldUnit]] = {}
    ids = sorted(set(service_ids))
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Referral.service_id, Referral.id, Referral.hold, Referral.at_risk)
            .where(Referral.service_id.in_(ids[start : start + 500]), Referral.state == "held")
            .order_by(Referral.service_id, Referral.created_at.desc(), Referral.id.desc())
        )
        for service_id, referral_id, hold, at_risk in rows:
            found.setdefault(service_id, []).append(HeldUnit(referral_id, hold, bool(at_risk)))
    return found


def record_at_risk(
    session: Session, decisions: Iterable[NewNumbers], now: datetime, reason: str | Words | None = None
) -> list[int]:
    """Store the at-risk flags the decisions changed and tell the newly affected case managers (reason: why,
    when it is not the provider's new numbers).

    Returns the referral ids newly at risk.
    """
    raised, cleared = [], []
    for decision in decisions:
        raised.extend(decision.newly_at_risk)
        cleared.extend(decision.no_longer_at_risk)
    for ids, flag in ((raised, True), (cleared, False)):
        for start in range(0, len(ids), 500):
            session.execute(
                update(Referral)
                .where(Referral.id.in_(ids[start : start + 500]))
                .values(at_risk=flag)
                .execution_options(synchronize_session="fetch")
            )
    if raised:
        from .notifications import notify_holds_at_risk

        notify_holds_at_risk(session, raised, now, reason)
    return raised


def holds_of_closed_services(
    session: Session, service_ids: Iterable[int], now: datetime, reason: str | Words
) -> dict:
    """A service switched off keeps no unit free: every hold on it is at risk (through the same flags and
    notices as new numbers). Returns {service id: [referral ids at risk]}."""
    held = held_units(session, service_ids)
    decisions = [
        NewNumbers(
            {},
            tuple(h.referral_id for h in units),
            tuple(h.referral_id for h in units if not h.at_risk),
            (),
        )
        for units in held.values()
    ]
    record_at_risk(session, decisions, now, reason)
    return {service_id: [h.referral_id for h in units] for service_id, units in held.items()}


def mark_holds_at_risk(session: Session, row: ServiceCapacity, now: datetime) -> tuple[list[int], list[int]]:
    """Flag the holds beyond a row's present numbers, newest first, and clear the flag on the others.

    Returns (ids at risk now, ids newly at risk); the newly affected case managers are notified.
    """
    if row.held_general == 0 and row.held_lead == 0:
        return [], []  # no holds (the held counts always equal the held referrals): nothing to flag
    held = held_units(session, [row.service_id]).get(row.service_id, [])
    at_risk, newly, cleared = holds_at_risk(
        held, row.held_general, row.held_lead, row.available, row.lead_funded_available
    )
    record_at_risk(session, [NewNumbers({}, tuple(at_risk), tuple(newly), tuple(cleared))], now)
    return at_risk, newly


def _answer_reports(session: Session, service_id: int, actor: Actor, resolution: str, now: datetime) -> int:
    """A confirmation or correction answers the service's open field reports (a newer confirmed_at also
    ends a report's effect on the status: capacity.reported_wrong)."""
    from .field_reports import resolve_open  # field reports take snapshot() from here

    return resolve_open(session, service_id, actor.id, resolution, now)


@writes
def update_capacity(
    session: Session, actor: Actor, service_id: int, changes: dict, channel: str, now: datetime
) -> tuple[ServiceCapacity, list[int], list[int]]:
    """Apply a provider's numbers (all invariants checked) and confirm them.

    Returns (row, referral ids at risk, referral ids newly at risk). Nothing is written on error.
    """
    service, row = lock_capacity(session, service_id)
    require_capacity_manager(actor, service.organization_id)
    before = snapshot(row)
    held = held_units(session, [service_id]).get(service_id, []) if row.held_general or row.held_lead else []
    decision = decide(before, changes, service.lead_fundable, held)
    for name, value in decision.values.items():
        setattr(row, name, value)
    row.confirmed_at = now
    row.updated = now
    row.stale_marked_at = None
    answered = _answer_reports(session, service_id, actor, "corrected", now)
    at_risk, newly = list(decision.at_risk), record_at_risk(session, [decision], now)
    after = snapshot(row)
    record_baseline(session, service_id, before, after, now)  # additionality: the general units before LEAD
    session.add(
        CapacityEvent(
            service_id=service_id,
            user_id=actor.id,
            at=now,
            kind="update",
            channel=channel,
            before=before,
            after=after,
        )
    )
    audit.append(
        session,
        actor.id,
        "capacity.update",
        "service",
        service_id,
        {
            "channel": channel,
            "before": before,
            "after": after,
            "holds_at_risk": at_risk,
            "reports_answered": answered,
        },
        now,
    )
    session.flush()
    return row, at_risk, newly


@writes
def confirm_capacity(
    session: Session, actor: Actor, service_id: int, channel: str, now: datetime
) -> ServiceCapacity:
    """ "Still correct": refresh confirmed_at without changing any number."""
    service, row = lock_capacity(session, service_id)
    require_capacity_manager(actor, service.organization_id)
    if row.available is None:
        raise Conflict(
            Words(N_("the number of free units is unknown: update the numbers instead of confirming")),
            "available",
        )
    before = snapshot(row)
    row.confirmed_at = now
    row.stale_marked_at = None
    answered = _answer_reports(session, service_id, actor, "confirmed", now)
    after = snapshot(row)
    session.add(
        CapacityEvent(
            service_id=service_id,
            user_id=actor.id,
            at=now,
            kind="confirm",
            channel=channel,
            before=before,
            after=after,
        )
    )
    audit.append(
        session,
        actor.id,
        "capacity.confirm",
        "service",
        service_id,
        {"channel": channel, "after": after, "reports_answered": answered},
        now,
    )
    session.flush()
    return row
