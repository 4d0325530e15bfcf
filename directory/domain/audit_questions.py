"""The questions the displacement audit exists for: which providers and case managers displaced people when
a LEAD-funded or spare unit was free nearby, and why; which placements skipped the check; additionality
against a stored baseline; unmet need in participants; and providers told apart when their names are equal.

Every function takes a period [start, end) (dashboard.Period) and returns plain rows (domain.md,
"Avoidable displacement" and "What the project manager needs to see").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from ..database import writes
from ..models import (
    AdditionalityBaseline,
    Referral,
    ReferralAlternative,
    Service,
    ServiceCapacity,
    User,
)
from . import audit
from . import capacity as cap
from .dashboard import Period, provider_labels
from .errors import NotFound, ValidationError

# Alternatives that make an override avoidable: a unit bought by LEAD or one nobody is waiting for.
AVOIDING = (cap.LEAD_FUNDED, cap.SPARE_CAPACITY)
# Overrides for these reasons are shown apart: the case manager judged the participant could not wait.
URGENT_REASONS = ("acute_need", "safety")
MAX_NOTE = 500


def _made_in(period):
    return (Referral.created_at >= period.start) & (Referral.created_at < period.end)


@dataclass
class OverrideWithChoice:
    """An override whose check offered a LEAD-funded or spare alternative, with the best (nearest) one."""

    referral_id: int
    created_at: datetime
    service: str
    organization_id: int
    case_manager_id: int | None
    case_manager: str | None
    reason_code: str | None
    decline_reason: str | None
    best_service_id: int
    best_name: str
    best_km: float | None
    best_classification: str
    best_units: int | None
    provider: str = ""

    @property
    def avoidable(self) -> bool:
        """Avoidable: the participant gave no reason of their own for declining the alternatives."""
        return self.decline_reason is None

    @property
    def urgent(self) -> bool:
        """An acute-need or safety override (shown apart)."""
        return self.reason_code in URGENT_REASONS


def overrides_with_choice(
    session: Session, period: Period, labelled: bool = True
) -> list[OverrideWithChoice]:
    """Overrides made in the period whose stored alternatives (as they were at the check) held a
    LEAD-funded or spare option, newest first, each with its nearest such alternative."""
    alternative_service = aliased(Service)
    rows = session.execute(
        select(
            Referral.id,
            Referral.created_at,
            Service.name,
            Service.organization_id,
            Referral.created_by,
            User.email,
            Referral.reason_code,
            Referral.decline_reason,
            alternative_service.id,
            alternative_service.name,
            ReferralAlternative.distance_km,
            ReferralAlternative.classification,
            ReferralAlternative.free_units,
        )
        .join(Service, Service.id == Referral.service_id)
        .outerjoin(User, User.id == Referral.created_by)
        .join(ReferralAlternative, ReferralAlternative.referral_id == Referral.id)
        .join(alternative_service, alternative_service.id == ReferralAlternative.service_id)
        .where(
            Referral.action == "override", _made_in(period), ReferralAlternative.classification.in_(AVOIDING)
        )
        .order_by(Referral.created_at.desc(), Referral.id.desc(), ReferralAlternative.position)
    ).all()
    found: dict[int, OverrideWithChoice] = {}
    for row in rows:
        if row[0] not in found:  # alternatives come nearest first: the first is the best
            found[row[0]] = OverrideWithChoice(*row)
    labels = provider_labels(session, {o.organization_id for o in found.values()}) if labelled else {}
    for entry in found.values():
        entry.provider = labels.get(entry.organization_id, "")
    return list(found.values())


@dataclass
class Rate:
    """Avoidable displacement of one provider or case manager: avoidable overrides (acute-need and safety
    ones counted apart), all overrides, all referrals."""

    key: int | None
    label: str
    avoidable: int = 0
    urgent_avoidable: int = 0
    overrides: int = 0
    referrals: int = 0

    @property
    def share_of_overrides(self) -> float | None:
        """Avoidable overrides over all overrides (None without overrides)."""
        return self.avoidable / self.overrides if self.overrides else None

    @property
    def share_of_referrals(self) -> float | None:
        """Avoidable overrides over all referrals (None without referrals)."""
        return self.avoidable / self.referrals if self.referrals else None


RATE_SORTS = {
    "rate": lambda r: (-(r.share_of_overrides or 0), -r.avoidable, r.label),
    "avoidable": lambda r: (-r.avoidable, r.label),
    "overrides": lambda r: (-r.overrides, r.label),
    "referrals": lambda r: (-r.referrals, r.label),
    "name": lambda r: (r.label.casefold(),),
}


def avoidable_rates(
    session: Session, period: Period, choices: list[OverrideWithChoice], sort: str = "rate"
) -> dict[str, list[Rate]]:
    """Rates per provider and per case manager (one grouped count of the period's referrals)."""
    rows = session.execute(
        select(
            Service.organization_id,
            Referral.created_by,
            User.email,
            func.count(),
            func.sum(case((Referral.action == "override", 1), else_=0)),
        )
        .join(Service, Service.id == Referral.service_id)
        .outerjoin(User, User.id == Referral.created_by)
        .where(_made_in(period))
        .group_by(Service.organization_id, Referral.created_by, User.email)
    ).all()
    labels = provider_labels(session, {row[0] for row in rows})
    tables: dict[str, dict] = {"provider": {}, "case_manager": {}}
    for org_id, user_id, email, referrals, overrides in rows:
        for by, key, label in (("provider", org_id, labels[org_id]), ("case_manager", user_id, email)):
            rate = tables[by].setdefault(key, Rate(key, label or "(account removed)"))
            rate.referrals += referrals
            rate.overrides += overrides or 0
    for choice in choices:
        if not choice.avoidable:
            continue
        for by, key in (("provider", choice.organization_id), ("case_manager", choice.case_manager_id)):
            rate = tables[by].get(key)
            if rate is None:
                continue
            if choice.urgent:
                rate.urgent_avoidable += 1
            else:
                rate.avoidable += 1
    order = RATE_SORTS.get(sort, RATE_SORTS["rate"])
    return {by: sorted((r for r in table.values() if r.overrides), key=order) for by, table in tables.items()}


@dataclass
class MonthRow:
    """One month of the trend."""

    label: str
    referrals: int
    overrides: int
    avoidable: int
    urgent_avoidable: int


def monthly_trend(session: Session, months: list[tuple[str, Period]]) -> list[MonthRow]:
    """Avoidable overrides, overrides and referrals per month; `months` is [(label, period)] in time order
    (one grouped count and one list of overrides for the whole span)."""
    if not months:
        return []
    span = Period(months[0][1].start, months[-1][1].end)
    bucket = case(*[(Referral.created_at < period.end, i) for i, (_, period) in enumerate(months)])
    counts = {
        index: (referrals, overrides or 0)
        for index, referrals, overrides in session.execute(
            select(bucket, func.count(), func.sum(case((Referral.action == "override", 1), else_=0)))
            .where(_made_in(span))
            .group_by(bucket)
        ).all()
    }
    result = [MonthRow(label, *counts.get(i, (0, 0)), 0, 0) for i, (label, _) in enumerate(months)]
    for choice in overrides_with_choice(session, span, labelled=False):
        if not choice.avoidable:
            continue
        index = next(i for i, (_, p) in enumerate(months) if choice.created_at < p.end)
        if choice.urgent:
            result[index].urgent_avoidable += 1
        else:
            result[index].avoidable += 1
    return result


def decline_reasons(session: Session, period: Period) -> Counter:
    """Why participants declined the alternatives offered, over the period's referrals that had any."""
    offered = select(ReferralAlternative.id).where(ReferralAlternative.referral_id == Referral.id).exists()
    rows = session.execute(
        select(Referral.decline_reason, func.count())
        .where(_made_in(period), offered)
        .group_by(Referral.decline_reason)
    ).all()
    return Counter({reason or "(not said)": count for reason, count in rows})


@dataclass
class Placements:
    """Placements (accepted referrals) closed in the period: measured by a check (claim, override, waitlist)
    or not (requests), and what the numbers said at acceptance for the unmeasured ones."""

    measured: int = 0
    unmeasured: int = 0
    unmeasured_by_placement: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """All placements of the period."""
        return self.measured + self.unmeasured

    @property
    def unmeasured_share(self) -> float | None:
        """The share of placements the check did not measure."""
        return self.unmeasured / self.total if self.total else None

    @property
    def over_a_waitlist(self) -> int:
        """Unmeasured placements made while people were waiting (a displacement nobody counted)."""
        return self.unmeasured_by_placement.get(cap.DISPLACEMENT, 0)


def placements(session: Session, period: Period) -> Placements:
    """Accepted referrals closed in the period, by whether a check measured them (one grouped query)."""
    rows = session.execute(
        select(Referral.action, Referral.placement, func.count())
        .where(
            Referral.state == "accepted",
            Referral.closed_at >= period.start,
            Referral.closed_at < period.end,
        )
        .group_by(Referral.action, Referral.placement)
    ).all()
    result = Placements()
    for action, placement, count in rows:
        if action == "request":
            result.unmeasured += count
            result.unmeasured_by_placement[placement or "(not recorded)"] += count
        else:
            result.measured += count
    return result


@dataclass
class PlacesTaken:
    """Overrides reported as places taken ahead of people waiting, with the waitlists as context (the
    waitlist lengths are not summed: the same people may be counted on many days)."""

    places: int
    median_waitlist: float | None
    longest_waitlist: int | None


def places_taken(session: Session, period: Period) -> PlacesTaken:
    """Each override took one place; the waitlist each one passed, as context."""
    waits = list(
        session.scalars(
            select(Referral.would_displace).where(Referral.action == "override", _made_in(period))
        )
    )
    return PlacesTaken(len(waits), median(waits) if waits else None, max(waits) if waits else None)


@dataclass
class BaselineFlag:
    """A service whose general maximum is now below its baseline (stored when LEAD units were bought)."""

    service_id: int
    service: str
    provider: str
    baseline_general: int
    general_now: int
    lead_at_baseline: int
    lead_now: int
    recorded_at: datetime
    note: str | None


def baseline_flags(session: Session) -> list[BaselineFlag]:
    """Every service whose general maximum fell below its stored baseline, whenever it fell."""
    rows = session.execute(
        select(
            AdditionalityBaseline,
            Service.name,
            Service.organization_id,
            ServiceCapacity.maximum,
            ServiceCapacity.lead_funded_maximum,
        )
        .join(Service, Service.id == AdditionalityBaseline.service_id)
        .join(ServiceCapacity, ServiceCapacity.service_id == Service.id)
        .where(ServiceCapacity.maximum < AdditionalityBaseline.general_maximum)
        .order_by(Service.name, Service.id)
    ).all()
    labels = provider_labels(session, {row[2] for row in rows})
    return [
        BaselineFlag(
            b.service_id,
            name,
            labels[org_id],
            b.general_maximum,
            now,
            b.lead_funded_maximum,
            lead,
            b.recorded_at,
            b.note,
        )
        for b, name, org_id, now, lead in rows
    ]


def record_baseline(
    session: Session, service_id: int, before: dict | None, after: dict, now: datetime
) -> None:
    """When a service's LEAD-funded units are first bought (its LEAD maximum rises above zero), keep its
    general maximum from before as the baseline later drops are measured against (called by every
    capacity update)."""
    lead_before = (before or {}).get("lead_funded_maximum") or 0
    lead_after = after.get("lead_funded_maximum") or 0
    if lead_after <= lead_before or session.get(AdditionalityBaseline, service_id) is not None:
        return
    general = (before or after).get("maximum")
    session.add(
        AdditionalityBaseline(
            service_id=service_id,
            general_maximum=general if general is not None else after.get("maximum") or 0,
            lead_funded_maximum=lead_after,
            recorded_at=now,
        )
    )


@writes
def note_baseline(session: Session, actor_id: int, service_id: int, note: object, now: datetime) -> None:
    """The project manager's note on a flagged baseline (why the general units fell)."""
    from .participants import screen_free_text

    if not isinstance(note, str) or len(note.strip()) > MAX_NOTE:
        raise ValidationError(f"a note is text of at most {MAX_NOTE} characters", "note")
    baseline = session.get(AdditionalityBaseline, service_id)
    if baseline is None:
        raise NotFound("no baseline for that service")
    baseline.note = screen_free_text(note.strip(), "note") or None
    baseline.noted_at, baseline.noted_by = now, actor_id
    audit.append(
        session,
        actor_id,
        "additionality.note",
        "service",
        service_id,
        {"note_sha256": audit.text_hash(baseline.note)},
        now,
    )
