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

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from ..database import writes
from ..models import (
    REASON_CODES,
    AdditionalityBaseline,
    Referral,
    ReferralAlternative,
    Service,
    ServiceCapacity,
    User,
)
from ..words import N_, Words
from . import audit
from . import capacity as cap
from . import dashboard as dash
from .confidential_rows import CONFIDENTIAL_ROW, confidential_services
from .dashboard import Period, ProviderLabels
from .errors import NotFound, ValidationError
from .rollups import Tally

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
    service_id: int
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


def has_choice():
    """The override's stored alternatives held a LEAD-funded or spare option."""
    return (
        select(ReferralAlternative.id)
        .where(
            ReferralAlternative.referral_id == Referral.id, ReferralAlternative.classification.in_(AVOIDING)
        )
        .exists()
    )


_URGENT = Referral.reason_code.in_(URGENT_REASONS)
KINDS = {
    "avoidable": Referral.decline_reason.is_(None) & ~_URGENT,
    "urgent": Referral.decline_reason.is_(None) & _URGENT,
    "participant_driven": Referral.decline_reason.is_not(None),
}


def overrides_with_choice(
    session: Session,
    period: Period,
    kind: str | None = None,
    limit: int | None = None,
    labelled: bool = True,
    labels: ProviderLabels | None = None,
) -> list[OverrideWithChoice]:
    """Overrides made in the period whose stored alternatives (as they were at the check) held a
    LEAD-funded or spare option, newest first, each with its nearest such alternative: all of them, or
    one kind (avoidable, urgent, participant_driven), or the latest `limit`."""
    chosen = select(Referral.id).where(Referral.action == "override", _made_in(period), has_choice())
    if kind is not None:
        chosen = chosen.where(KINDS[kind])
    chosen = chosen.order_by(Referral.created_at.desc(), Referral.id.desc())
    if limit is not None:
        chosen = chosen.limit(limit)
    ids = [row[0] for row in session.execute(chosen)]
    if not ids:
        return []
    alternative_service = aliased(Service)
    rows = session.execute(
        select(
            Referral.id,
            Referral.created_at,
            Service.name,
            Service.organization_id,
            Referral.service_id,
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
        .where(Referral.id.in_(ids), ReferralAlternative.classification.in_(AVOIDING))
        .order_by(Referral.id, ReferralAlternative.position)
    ).all()
    found: dict[int, OverrideWithChoice] = {}
    for row in rows:
        if row[0] not in found:  # alternatives come nearest first: the first is the best
            found[row[0]] = OverrideWithChoice(*row)
    names = (
        (labels or ProviderLabels(session))({o.organization_id for o in found.values()}) if labelled else {}
    )
    hidden = confidential_services(session, {o.service_id for o in found.values()})
    for entry in found.values():
        entry.provider = names.get(entry.organization_id, "")
        if entry.service_id in hidden:
            # A confidential (domestic-violence) service reads as the merged row, and its best alternative
            # is not named: the check may have measured the distances from the shelter itself (issue 24).
            entry.service, entry.best_name, entry.best_km = CONFIDENTIAL_ROW, "", None
    return [found[i] for i in ids]


@dataclass(frozen=True)
class ChoiceCount:
    """Overrides with a LEAD-funded or spare alternative, counted by provider, case manager and kind."""

    organization_id: int
    case_manager_id: int | None
    avoidable: bool
    urgent: bool
    count: int


def choice_counts(session: Session, period: Period) -> list[ChoiceCount]:
    """Overrides whose alternatives held a LEAD-funded or spare option, counted in one grouped query by
    provider, case manager, whether the participant gave a reason, and whether it was acute need or
    safety."""
    avoidable = Referral.decline_reason.is_(None)
    rows = session.execute(
        select(Service.organization_id, Referral.created_by, avoidable, _URGENT, func.count())
        .join(Service, Service.id == Referral.service_id)
        .where(Referral.action == "override", _made_in(period), has_choice())
        .group_by(Service.organization_id, Referral.created_by, avoidable, _URGENT)
    ).all()
    return [ChoiceCount(o, c, bool(a), bool(u), n) for o, c, a, u, n in rows]


def choice_totals(counts: list[ChoiceCount]) -> dict[str, int]:
    """Avoidable (not urgent), urgent and participant-driven overrides in all."""
    return {
        "avoidable": sum(c.count for c in counts if c.avoidable and not c.urgent),
        "urgent": sum(c.count for c in counts if c.avoidable and c.urgent),
        "participant_driven": sum(c.count for c in counts if not c.avoidable),
        "all": sum(c.count for c in counts),
    }


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


@dataclass
class PlacesTaken:
    """Overrides reported as places taken ahead of people waiting, with the waitlists as context (the
    waitlist lengths are not summed: the same people may be counted on many days)."""

    places: int
    mean_waitlist: float | None
    longest_waitlist: int | None


def places_taken(session: Session, period: Period) -> PlacesTaken:
    """Each override took one place; the waitlist each one passed, as context (one aggregate query)."""
    places, mean, longest = session.execute(
        select(func.count(), func.avg(Referral.would_displace), func.max(Referral.would_displace)).where(
            Referral.action == "override", _made_in(period)
        )
    ).one()
    return PlacesTaken(places, round(float(mean), 1) if mean is not None else None, longest)


@dataclass
class MonthRow:
    """One month of the trend."""

    label: str
    referrals: int = 0
    overrides: int = 0
    avoidable: int = 0
    urgent_avoidable: int = 0


@dataclass
class AvoidableFigures:
    """Avoidable displacement for a period (totals, rates per provider and case manager, the reasons
    given for declining alternatives) and its monthly trend."""

    totals: dict[str, int]
    rates: dict[str, list[Rate]]
    declined: Counter
    trend: list[MonthRow]
    by_reason: Counter
    by_case_manager: Counter
    places: PlacesTaken


def avoidable_figures(
    session: Session,
    period: Period,
    months: list[tuple[str, Period]],
    sort: str = "rate",
    tables: dash.Tables | None = None,
) -> AvoidableFigures:
    """Avoidable displacement in the period and per month (`months`: [(label, period)] in time order),
    from the referrals' tallies over both (the page's own when `tables` was made with the same months)."""
    cuts = dash.cuts_of(period, months)
    if tables is not None and tables.cuts == cuts:
        marginals = tables.marginals
    else:
        marginals = dash.referral_marginals(session, cuts)
    in_period = dash.segments_within(cuts, period)
    trend = []
    for label, month in months:
        row = MonthRow(label)
        inside = dash.segments_within(cuts, month)
        total = marginals.of(inside, "total").get("")
        if total is not None:
            row.referrals, row.overrides = total.referrals, total.overrides
            row.avoidable, row.urgent_avoidable = total.avoidable, total.urgent
        trend.append(row)
    total = marginals.of(in_period, "total").get("") or Tally()
    totals = {
        "avoidable": total.avoidable,
        "urgent": total.urgent,
        "participant_driven": total.participant_driven,
        "all": total.with_choice,
    }
    declined = Counter(
        {key: t.referrals for key, t in marginals.of(in_period, "decline_reason").items() if key is not None}
    )
    by_reason: Counter = Counter()
    for key, t in marginals.of(in_period, "reason_code").items():
        if t.overrides:
            by_reason[key or "(none)"] += t.overrides
    providers = marginals.of(in_period, "provider")
    managers = marginals.of(in_period, "case_manager")
    ids = {key for key in managers if key is not None}
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(ids))).all()) if ids else {}
    by_case_manager: Counter = Counter()
    for key, t in managers.items():
        if t.overrides:
            by_case_manager[emails.get(key) or "(none)"] += t.overrides
    labels = (tables.labels if tables is not None else ProviderLabels(session))(set(providers))
    rates: dict[str, list[Rate]] = {}
    order = RATE_SORTS.get(sort, RATE_SORTS["rate"])
    for by, table, label_of in (
        ("provider", providers, labels.get),
        ("case_manager", managers, emails.get),
    ):
        rows = [
            Rate(key, label_of(key) or "(account removed)", t.avoidable, t.urgent, t.overrides, t.referrals)
            for key, t in table.items()
            if t.overrides
        ]
        rates[by] = sorted(rows, key=order)
    overrides = sum(by_reason.values())
    places = PlacesTaken(
        overrides, round(total.waitlists / overrides, 1) if overrides else None, total.longest
    )
    return AvoidableFigures(totals, rates, declined, trend, by_reason, by_case_manager, places)


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


def placements(session: Session, period: Period, accepted: list[dash.Accepted] | None = None) -> Placements:
    """Accepted referrals closed in the period, by whether a check measured them (one grouped query, or the
    page's own `accepted`); acceptances whose outcome is withheld (issue 24) are never counted, so no
    difference of figures can reveal one."""
    result = Placements()
    for group in accepted if accepted is not None else dash.accepted_in(session, period):
        if group.withheld:  # a Part 2 program without a release, a confidential service: not ours to count
            continue
        if group.action == "request":
            result.unmeasured += group.count
            result.unmeasured_by_placement[group.placement or "(not recorded)"] += group.count
        else:
            result.measured += group.count
    return result


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


def baseline_flags(session: Session, labels: ProviderLabels | None = None) -> list[BaselineFlag]:
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
    names = (labels or ProviderLabels(session))({row[2] for row in rows})
    return [
        BaselineFlag(
            b.service_id,
            name,
            names[org_id],
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
        raise ValidationError(
            Words(N_("a note is text of at most %(max_note)s characters"), max_note=MAX_NOTE), "note"
        )
    baseline = session.get(AdditionalityBaseline, service_id)
    if baseline is None:
        raise NotFound(Words(N_("no baseline for that service")))
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


def partner_lines(session: Session, period: Period) -> dict[str, tuple[int, dict[str, int]]]:
    """The partner report's figures for a closed period as lines (a total and the parts that make it up),
    ready for the public suppression: referrals by classification and by domain, overrides by reason and
    by whether they were avoidable, placements by whether a check measured them. No provider, case manager
    or referral appears."""
    rows = session.execute(
        select(Referral.classification, Referral.domain, Referral.action, Referral.reason_code).where(
            _made_in(period)
        )
    ).all()
    overrides = [row for row in rows if row[2] == "override"]
    totals = choice_totals(choice_counts(session, period))
    placed = placements(session, period)
    return {
        "referrals_by_classification": (
            len(rows),
            {c: sum(row[0] == c for row in rows) for c in cap.CLASSIFICATIONS},
        ),
        "referrals_by_domain": (len(rows), dict(sorted(Counter(row[1] or "(none)" for row in rows).items()))),
        "overrides_by_reason": (
            len(overrides),
            {reason: sum(row[3] == reason for row in overrides) for reason in REASON_CODES},
        ),
        "overrides_by_alternative": (
            len(overrides),
            {
                "avoidable": totals["avoidable"],
                "acute_need_or_safety": totals["urgent"],
                "declined_for_own_reasons": totals["participant_driven"],
                "no_lead_funded_or_spare_alternative": len(overrides) - totals["all"],
            },
        ),
        "placements": (
            placed.total,
            {
                "measured": placed.measured,
                "unmeasured_over_a_waitlist": placed.over_a_waitlist,
                "unmeasured_other": placed.unmeasured - placed.over_a_waitlist,
            },
        ),
    }
