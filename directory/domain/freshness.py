"""Data freshness: which providers keep their numbers current, and how overdue the others are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..config import SiteConfig
from ..models import Organization, Service, ServiceCapacity


@dataclass
class ProviderFreshness:
    """One organization's tracked services: how many are within their window, and the worst lapse."""

    organization_id: int
    name: str
    tracked: int = 0
    fresh: int = 0
    never_confirmed: int = 0
    most_overdue: timedelta = timedelta(0)
    overdue_services: list[tuple[int, str, timedelta | None]] = field(default_factory=list)

    @property
    def share_fresh(self) -> float:
        """Share of tracked records confirmed within their window."""
        return self.fresh / self.tracked if self.tracked else 1.0


def provider_freshness(session: Session, now: datetime, site: SiteConfig) -> list[ProviderFreshness]:
    """Per organization with tracked capacity, most overdue first (never-confirmed counts as most overdue)."""
    rows = session.execute(
        select(
            Organization.id,
            Organization.name,
            Service.id,
            Service.name,
            ServiceCapacity.unit_id,
            ServiceCapacity.confirmed_at,
        )
        .join(Service, Service.organization_id == Organization.id)
        .join(ServiceCapacity, ServiceCapacity.service_id == Service.id)
        .where(Service.status == "active")
    ).all()
    by_org: dict[int, ProviderFreshness] = {}
    never = timedelta.max
    for org_id, org_name, service_id, service_name, unit, confirmed_at in rows:
        entry = by_org.setdefault(org_id, ProviderFreshness(org_id, org_name))
        entry.tracked += 1
        window = timedelta(hours=site.freshness_hours[unit])
        if confirmed_at is None:
            entry.never_confirmed += 1
            entry.most_overdue = never
            entry.overdue_services.append((service_id, service_name, None))
            continue
        age = now - confirmed_at
        if age <= window:
            entry.fresh += 1
        else:
            overdue = age - window
            entry.overdue_services.append((service_id, service_name, overdue))
            if entry.most_overdue != never:
                entry.most_overdue = max(entry.most_overdue, overdue)
    return sorted(
        by_org.values(),
        key=lambda e: (
            -(e.most_overdue.total_seconds() if e.most_overdue != never else float("inf")),
            e.share_fresh,
            e.name,
        ),
    )
