"""The project manager's per-provider tables merge every confidential (domestic-violence) service into one
row, so that no table tells which shelter received whom, or how many (issue 24).

Every table names providers through `dashboard.provider_labels`, which labels each organization running a
confidential service CONFIDENTIAL_ROW: counters keyed by label sum them into one row. `merge_counter` and
`merge_rows` merge tables keyed by name or exported with a header row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Location, Organization, Service, service_at_location
from ..words import N_

CONFIDENTIAL_ROW = N_("Confidential services (merged)")


def confidential_providers(session: Session) -> set[str]:
    """Names of the organizations that run a service at a confidential location (the keys to merge)."""
    return set(
        session.scalars(
            select(Organization.name)
            .join(Service, Service.organization_id == Organization.id)
            .join(service_at_location, service_at_location.c.service_id == Service.id)
            .join(Location, Location.id == service_at_location.c.location_id)
            .where(Location.confidential.is_(True))
            .distinct()
        )
    )


def confidential_organizations(session: Session, organization_ids: set[int]) -> set[int]:
    """Which of these organizations run a service at a confidential location (labelled as one merged row)."""
    if not organization_ids:
        return set()
    return set(
        session.scalars(
            select(Service.organization_id)
            .join(service_at_location, service_at_location.c.service_id == Service.id)
            .join(Location, Location.id == service_at_location.c.location_id)
            .where(Location.confidential.is_(True), Service.organization_id.in_(organization_ids))
            .distinct()
        )
    )


def all_confidential_organizations(session: Session) -> set[int]:
    """Every organization running a service at a confidential location (one query per render)."""
    return set(
        session.scalars(
            select(Service.organization_id)
            .join(service_at_location, service_at_location.c.service_id == Service.id)
            .join(Location, Location.id == service_at_location.c.location_id)
            .where(Location.confidential.is_(True))
            .distinct()
        )
    )


def confidential_services(session: Session, service_ids: set[int]) -> set[int]:
    """Which of these services are at a confidential location (their rows read as the merged row)."""
    if not service_ids:
        return set()
    return set(
        session.scalars(
            select(service_at_location.c.service_id)
            .join(Location, Location.id == service_at_location.c.location_id)
            .where(Location.confidential.is_(True), service_at_location.c.service_id.in_(service_ids))
            .distinct()
        )
    )


def merge_counter(counter: Counter, confidential: Iterable[str]) -> Counter:
    """A copy of a Counter keyed by provider, with every confidential provider's count in one row (present
    only when one of them counted anything)."""
    names = set(confidential)
    merged: Counter = Counter()
    for key, value in counter.items():
        merged[CONFIDENTIAL_ROW if key in names else key] += value
    return merged


def merge_rows(rows: list[list], confidential: Iterable[str], key_column: str = "provider") -> list[list]:
    """A table (header first) with its confidential providers' rows summed into one row, placed last;
    numbers are summed, any other cell of the merged row is left empty."""
    if not rows:
        return rows
    header, body = rows[0], rows[1:]
    index = header.index(key_column)
    names = set(confidential)
    kept = [row for row in body if row[index] not in names]
    hidden = [row for row in body if row[index] in names]
    if not hidden:
        return [header, *kept]
    total: list = []
    for column in range(len(header)):
        cells = [row[column] for row in hidden]
        numbers = all(isinstance(c, int | float) and not isinstance(c, bool) for c in cells)
        total.append(sum(cells) if numbers else None)
    total[index] = CONFIDENTIAL_ROW
    return [header, *kept, total]
