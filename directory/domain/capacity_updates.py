"""Providers keep their numbers: update and confirm, with history, at-risk holds and the audit log.

The provider's numbers are the truth: an update below the units held by pending referrals is
accepted, and the holds beyond availability are marked at risk, newest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import MAX_COUNT, CapacityEvent, Referral, Service, ServiceCapacity
from . import audit
from .access import Actor, require_capacity_manager
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
        raise ValidationError("the body must be a JSON object", None)
    if not body:
        raise ValidationError(f"give at least one of {', '.join(FIELDS)}", None)
    changes: dict[str, int | None] = {}
    for name, value in body.items():
        if name not in FIELDS:
            raise ValidationError(f"unknown field {name!r}; allowed: {', '.join(FIELDS)}", str(name)[:100])
        if value is None:
            if name not in NULLABLE:
                raise ValidationError(f"{name} cannot be null", name)
            changes[name] = None
            continue
        # bool is an int in Python: refuse it explicitly, as well as floats and strings.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be a whole number from 0 to {MAX_COUNT:,}", name)
        if not 0 <= value <= MAX_COUNT:
            raise ValidationError(f"{name} must be from 0 to {MAX_COUNT:,}", name)
        changes[name] = value
    return changes


def lock_capacity(session: Session, service_id: int) -> tuple[Service, ServiceCapacity]:
    """Load a service and lock its capacity row for this transaction (row lock on PostgreSQL)."""
    service = session.get(Service, service_id)
    if service is None:
        raise NotFound(f"no service {service_id}")
    row = session.execute(
        select(ServiceCapacity)
        .where(ServiceCapacity.service_id == service_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        raise Conflict("this service does not track capacity (open access)", "service_id")
    return service, row


def _check_invariants(service: Service, values: dict) -> None:
    if values["available"] is not None and values["available"] > values["maximum"]:
        raise ValidationError("available cannot be more than maximum", "available")
    if values["lead_funded_available"] > values["lead_funded_maximum"]:
        raise ValidationError(
            "lead_funded_available cannot be more than lead_funded_maximum", "lead_funded_available"
        )
    if values["lead_funded_maximum"] > 0 and not service.lead_fundable:
        raise ValidationError(
            "this service is not LEAD-fundable (religious requirement, conversion therapy, or housing that "
            "excludes active use or sex work), so it cannot hold LEAD-funded units",
            "lead_funded_maximum",
        )


def mark_holds_at_risk(session: Session, row: ServiceCapacity) -> tuple[list[int], list[int]]:
    """Flag the holds beyond availability, newest first; clear the flag on the others.

    Returns (ids at risk now, ids newly at risk).
    """
    if row.held_general == 0 and row.held_lead == 0:
        return [], []  # no holds (the held counts always equal the held referrals): nothing to flag
    held = session.scalars(
        select(Referral)
        .where(Referral.service_id == row.service_id, Referral.state == "held")
        .order_by(Referral.created_at.desc(), Referral.id.desc())
    ).all()
    beyond = {
        "general": max(0, row.held_general - (row.available or 0)),
        "lead": max(0, row.held_lead - row.lead_funded_available),
    }
    at_risk, newly = [], []
    seen = {"general": 0, "lead": 0}
    for referral in held:
        kind = referral.hold
        risky = seen[kind] < beyond[kind]
        seen[kind] += 1
        if risky:
            at_risk.append(referral.id)
            if not referral.at_risk:
                newly.append(referral.id)
        referral.at_risk = risky
    return sorted(at_risk), newly


def update_capacity(
    session: Session, actor: Actor, service_id: int, changes: dict, channel: str, now: datetime
) -> tuple[ServiceCapacity, list[int], list[int]]:
    """Apply a provider's numbers (all invariants checked) and confirm them.

    Returns (row, referral ids at risk, referral ids newly at risk). Nothing is written on error.
    """
    service, row = lock_capacity(session, service_id)
    require_capacity_manager(actor, service.organization_id)
    before = snapshot(row)
    values = {name: getattr(row, name) for name in FIELDS}
    values.update(changes)
    _check_invariants(service, values)
    for name, value in values.items():
        setattr(row, name, value)
    row.confirmed_at = now
    row.updated = now
    row.stale_marked_at = None
    at_risk, newly = mark_holds_at_risk(session, row)
    after = snapshot(row)
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
        {"channel": channel, "before": before, "after": after, "holds_at_risk": at_risk},
        now,
    )
    if newly:
        from .notifications import notify_holds_at_risk

        notify_holds_at_risk(session, newly, now)
    session.flush()
    return row, at_risk, newly


def confirm_capacity(
    session: Session, actor: Actor, service_id: int, channel: str, now: datetime
) -> ServiceCapacity:
    """ "Still correct": refresh confirmed_at without changing any number."""
    service, row = lock_capacity(session, service_id)
    require_capacity_manager(actor, service.organization_id)
    if row.available is None:
        raise Conflict(
            "the number of free units is unknown: update the numbers instead of confirming", "available"
        )
    before = snapshot(row)
    row.confirmed_at = now
    row.stale_marked_at = None
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
        {"channel": channel, "after": after},
        now,
    )
    session.flush()
    return row
