"""Capacity status: freshness and the classification a new referral would get now (domain.md).

The same rule exists twice on purpose: `classify` for one row in Python, and `status_sql` as a SQL
expression so that searches can filter 100,000 services by availability inside the database. The
test suite checks that the two agree on every combination of counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, or_
from sqlalchemy.sql.elements import ColumnElement

OPEN_ACCESS = "open_access"
UNVERIFIED = "unverified"
LEAD_FUNDED = "lead_funded"
COORDINATED_ENTRY = "coordinated_entry"
SPARE_CAPACITY = "spare_capacity"
DISPLACEMENT = "displacement"
FULL = "full"
CLASSIFICATIONS = (
    OPEN_ACCESS,
    UNVERIFIED,
    LEAD_FUNDED,
    COORDINATED_ENTRY,
    SPARE_CAPACITY,
    DISPLACEMENT,
    FULL,
)
# Statuses under which a referral can be placed now without displacing anyone.
AVAILABLE_NOW = (LEAD_FUNDED, SPARE_CAPACITY, OPEN_ACCESS)
# What a referral does: claim a unit, join the waitlist, override (displace), or request. Which of them a
# classification allows is decided in referrals.py. The schema's CHECKs take both names from here.
ACTIONS = ("claim", "join_waitlist", "override", "request")


@dataclass(frozen=True)
class Numbers:
    """A capacity row's numbers, as the rule needs them."""

    unit: str
    maximum: int
    available: int | None
    waitlist: int | None
    lead_funded_maximum: int = 0
    lead_funded_available: int = 0
    held_general: int = 0
    held_lead: int = 0
    confirmed_at: datetime | None = None
    # The latest field report of "full" / "fewer free" made while the numbers said a unit was free.
    reported_at: datetime | None = None

    @classmethod
    def of(cls, row) -> Numbers:
        """Take the numbers from any object with the capacity attributes (e.g. a ServiceCapacity)."""
        return cls(
            unit=row.unit_id,
            maximum=row.maximum,
            available=row.available,
            waitlist=row.waitlist,
            lead_funded_maximum=row.lead_funded_maximum,
            lead_funded_available=row.lead_funded_available,
            held_general=row.held_general,
            held_lead=row.held_lead,
            confirmed_at=row.confirmed_at,
            reported_at=getattr(row, "reported_at", None),
        )

    @property
    def lead_free(self) -> int:
        """LEAD-funded units free for a new claim: unused minus held."""
        return self.lead_funded_available - self.held_lead

    @property
    def physically_free(self) -> int | None:
        """General units free ignoring the waitlist (None when availability is unknown)."""
        return None if self.available is None else self.available - self.held_general

    @property
    def spare(self) -> int | None:
        """General units nobody is waiting for (None when availability or the waitlist is unknown)."""
        if self.available is None or self.waitlist is None:
            return None
        return self.available - self.held_general - self.waitlist


def window(unit: str, freshness_hours: Mapping[str, float]) -> timedelta:
    """The freshness window of a unit type."""
    return timedelta(hours=freshness_hours[unit])


def is_stale(numbers: Numbers, now: datetime, freshness_hours: Mapping[str, float]) -> bool:
    """Stale: never confirmed, or confirmed longer ago than the unit type's window."""
    if numbers.confirmed_at is None:
        return True
    return now - numbers.confirmed_at > window(numbers.unit, freshness_hours)


def reported_wrong(numbers: Numbers, now: datetime, freshness_hours: Mapping[str, float]) -> bool:
    """A field report of "full" or "fewer free" stands against these numbers: made after the last
    confirmation and less than a freshness window ago (domain.md, reports from the field)."""
    reported = numbers.reported_at
    if reported is None or (numbers.confirmed_at is not None and reported <= numbers.confirmed_at):
        return False
    return now - reported <= window(numbers.unit, freshness_hours)


def classify(
    numbers: Numbers | None, coordinated_entry: bool, now: datetime, freshness_hours: Mapping[str, float]
) -> str:
    """Classify "place this participant in this service now" (domain.md, first match wins)."""
    if numbers is None:
        return OPEN_ACCESS
    if is_stale(numbers, now, freshness_hours) or numbers.waitlist is None or numbers.available is None:
        return UNVERIFIED
    if reported_wrong(numbers, now, freshness_hours):
        return UNVERIFIED
    if numbers.lead_free > 0:
        return LEAD_FUNDED
    if coordinated_entry:
        return COORDINATED_ENTRY
    if numbers.spare > 0:
        return SPARE_CAPACITY
    if numbers.waitlist > 0:
        return DISPLACEMENT
    return FULL


def would_displace(classification: str, numbers: Numbers | None) -> int:
    """How many people a placement now would delay: the waitlist, for a displacement; nobody otherwise."""
    return numbers.waitlist if classification == DISPLACEMENT and numbers is not None else 0


def fresh_sql(capacity_table, service_unit_cutoffs: Mapping[str, datetime]) -> ColumnElement[bool]:
    """SQL: the row's confirmation is within its unit type's window (cutoff = now - window)."""
    conditions = [
        and_(capacity_table.c.unit_id == unit, capacity_table.c.confirmed_at >= cutoff)
        for unit, cutoff in service_unit_cutoffs.items()
    ]
    return and_(capacity_table.c.confirmed_at.is_not(None), or_(*conditions))


def cutoffs(now: datetime, freshness_hours: Mapping[str, float]) -> dict[str, datetime]:
    """For each unit type, the oldest confirmation time still fresh at `now`."""
    return {unit: now - timedelta(hours=hours) for unit, hours in freshness_hours.items()}


def status_sql(capacity_table, coordinated_entry_column, now: datetime, freshness_hours: Mapping[str, float]):
    """SQL CASE giving `classify` for a row of service_capacity outer-joined to its service."""
    c = capacity_table.c
    limits = cutoffs(now, freshness_hours)
    fresh = fresh_sql(capacity_table, limits)
    # A standing field report (reported_wrong): newer than the confirmation, within the unit's window.
    reported = and_(
        c.reported_at.is_not(None),
        or_(c.confirmed_at.is_(None), c.reported_at > c.confirmed_at),
        or_(*[and_(c.unit_id == unit, c.reported_at >= cutoff) for unit, cutoff in limits.items()]),
    )
    return case(
        (c.id.is_(None), OPEN_ACCESS),
        (or_(~fresh, c.waitlist.is_(None), c.available.is_(None), reported), UNVERIFIED),
        (c.lead_funded_available - c.held_lead > 0, LEAD_FUNDED),
        (coordinated_entry_column, COORDINATED_ENTRY),
        (c.available - c.held_general - c.waitlist > 0, SPARE_CAPACITY),
        (c.waitlist > 0, DISPLACEMENT),
        else_=FULL,
    )
