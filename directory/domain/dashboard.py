"""The project manager's displacement audit: every figure of the dashboard, computed from the records.

Each function takes a period [start, end) and returns plain rows; the definitions written on the page
are the docstrings' first lines, so the words and the numbers cannot drift apart. Tables computes each
table on first use and EXPORTS lays one out as CSV rows, so exporting one table runs only its own queries.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from statistics import median
from typing import NamedTuple

from sqlalchemy import case, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from ..models import (
    Address,
    CapacityEvent,
    Location,
    Organization,
    Referral,
    ReferralAlternative,
    ReferralCheck,
    Service,
    ServiceCapacity,
    SitePlace,
    User,
)
from . import capacity as cap
from . import rollups
from .confidential_rows import CONFIDENTIAL_ROW, all_confidential_organizations, confidential_organizations

CLOSED_OUTCOMES = ("accepted", "declined", "expired", "cancelled")
# Outcomes that do not come back to the app (issue 24): counted apart, never by their state.
NOT_SHARED = "not_shared"


@dataclass(frozen=True)
class Period:
    """A reporting period, start inclusive, end exclusive (aware UTC datetimes)."""

    start: datetime
    end: datetime


def provider_labels(
    session: Session, organization_ids: set[int], hidden: set[int] | None = None
) -> dict[int, str]:
    """Each organization's name, with its city and number when another organization has the same name:
    tables never show two providers that cannot be told apart, and a provider reads the same in every
    table. Cities of confidential locations are never used; organizations with a confidential service all
    read as one merged row."""
    if not organization_ids:
        return {}
    names = dict(
        session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(organization_ids))
        ).all()
    )
    shared = set(
        session.scalars(
            select(Organization.name)
            .where(Organization.name.in_(set(names.values())))
            .group_by(Organization.name)
            .having(func.count() > 1)
        )
    )
    cities: dict[int, str] = {}
    twins = [org_id for org_id, name in names.items() if name in shared]
    if twins:
        for org_id, city in session.execute(
            select(Location.organization_id, Address.city)
            .join(Address, Address.location_id == Location.id)
            .where(Location.organization_id.in_(twins), Location.confidential.is_(False))
            .order_by(Location.id)
        ).all():
            cities.setdefault(org_id, city)
    # Every organization running a confidential (domestic-violence) service reads as one merged row, so no
    # table tells which shelter received whom or how many (issue 24); counters keyed by label sum them.
    if hidden is None:
        hidden = confidential_organizations(session, set(names))
    labels = {}
    for org_id, name in names.items():
        if org_id in hidden:
            labels[org_id] = CONFIDENTIAL_ROW
        elif name not in shared:
            labels[org_id] = name
        else:  # the number tells them apart; the city, when known, helps the reader
            city = cities.get(org_id)
            labels[org_id] = f"{name} ({city}, no. {org_id})" if city else f"{name} (no. {org_id})"
    return labels


class ProviderLabels:
    """provider_labels for one render: each organization is labelled once, and the confidential
    organizations are looked up once (all those with a confidential service), however many tables ask."""

    def __init__(self, session: Session):
        self.session = session
        self.known: dict[int, str] = {}
        self._hidden: set[int] | None = None

    def __call__(self, organization_ids: set[int]) -> dict[int, str]:
        """The labels of these organizations (see provider_labels)."""
        missing = set(organization_ids) - set(self.known)
        if missing:
            if self._hidden is None:
                self._hidden = all_confidential_organizations(self.session)
            # Twins are told apart by a name shared anywhere, so labelling a subset gives the same labels.
            self.known.update(provider_labels(self.session, missing, self._hidden & missing))
        return {org_id: self.known[org_id] for org_id in organization_ids}


def _rows(session: Session, statement) -> list:
    """A read's rows as plain tuples (through Core: on a large period the ORM's row handling costs more than
    the query)."""
    return session.connection().execute(statement).all()


def week_of(moment: datetime) -> str:
    """ISO week label, e.g. 2026-W47."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _made_in(period: Period):
    """Referrals made in the period."""
    return (Referral.created_at >= period.start) & (Referral.created_at < period.end)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _utc_day(session: Session, column):
    """The UTC calendar day of a time column as YYYY-MM-DD text, computed by the database."""
    if _dialect(session) == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.date(column)  # SQLite keeps naive UTC text


def _days_between(session: Session, start, end):
    """end - start in days (a float), computed by the database."""
    if _dialect(session) == "postgresql":
        return func.extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


@dataclass(frozen=True)
class ReferralCounts:
    """Referrals made in a period, counted by UTC day, classification and action, and by state as the audit
    may see it (what the weekly table, the displacement rate and the outcomes read)."""

    rows: list[tuple[str, str, str, int]]
    states: Counter


def _shown_state():
    """A referral's state as the audit may count it: "not_shared" when its outcome does not come back (a
    Part 2 program without a release, a confidential referral: only the referring case manager learns it)."""
    withheld = (Referral.outcome_shared.is_(False)) | Referral.reference.is_not(None)
    return case((withheld, literal_column("'not_shared'")), else_=Referral.state)


class ScanGroup(NamedTuple):
    """Referrals made in one stretch between two cuts that agree on every column the audit groups by."""

    segment: int
    day: str
    classification: str
    action: str
    state: str
    service_id: int
    case_manager_id: int | None
    decline_reason: str | None
    reason_code: str | None
    domain: str | None
    neighborhood_id: int | None
    language: str | None
    population: str | None
    referrals: int
    overrides: int
    with_choice: int  # overrides whose stored alternatives held a LEAD-funded or spare option
    waitlists: int  # the waitlists the overrides passed, added up (only for their mean)
    longest_waitlist: int | None


def cuts_of(period: Period, months: list[tuple[str, Period]] | tuple = ()) -> list[datetime]:
    """The moments a scan splits its referrals at: the period's and the trend months' bounds, in order."""
    return sorted({period.start, period.end, *(m.start for _, m in months), *(m.end for _, m in months)})


def referral_scan(
    session: Session, cuts: list[datetime], ranges: list[tuple[datetime, datetime]] | None = None
) -> list[ScanGroup]:
    """The referrals made between the first and last cut (only those inside `ranges` when given) in one
    grouped query: grouped by the stretch between two cuts, UTC day, classification, action, state as the
    audit may see it, service, case manager, the participant's and the override's reasons, domain,
    neighborhood, language and population. The dashboard reads it for the partial days at a period's edges
    (whole days come from the rollups); the rollups' backfill reads it for everything."""
    from .audit_questions import has_choice  # the avoidable-displacement module owns the definition

    if len(cuts) < 2:  # an empty period: nothing was made in it
        return []
    if _dialect(session) == "postgresql":
        # The grouped rows of 100,000 referrals overflow the default 4 MB of sort memory: sorted on disk
        # (external merge) the scan took 1.3 s; in memory, for this transaction only, it takes less.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    segment = case(*[(Referral.created_at < cut, i) for i, cut in enumerate(cuts[1:])])
    day = _utc_day(session, Referral.created_at)
    state = _shown_state()
    override = Referral.action == "override"
    keys = (
        segment,
        day,
        Referral.classification,
        Referral.action,
        state,
        Referral.service_id,
        Referral.created_by,
        Referral.decline_reason,
        Referral.reason_code,
        Referral.domain,
        ReferralCheck.neighborhood_id,
        ReferralCheck.language,
        ReferralCheck.population,
    )
    within = Referral.created_at >= cuts[0], Referral.created_at < cuts[-1]
    if ranges is not None:
        within = (*within, or_(*[(Referral.created_at >= a) & (Referral.created_at < b) for a, b in ranges]))
    rows = _rows(
        session,
        select(
            *keys,
            func.count(),
            func.sum(case((override, 1), else_=0)),
            # CASE stops at the first condition that fails: only overrides look at their alternatives.
            func.sum(case((override & has_choice(), 1), else_=0)),
            func.sum(case((override, Referral.would_displace), else_=0)),
            func.max(case((override, Referral.would_displace))),
        )
        .select_from(Referral)
        .outerjoin(ReferralCheck, ReferralCheck.id == Referral.check_id)
        .where(*within)
        .group_by(*keys),
    )
    return [ScanGroup(*row[:15], row[15] or 0, row[16] or 0, row[17]) for row in rows]


def segments_within(cuts: list[datetime], period: Period) -> set[int]:
    """The scan's stretches that lie inside the period."""
    return {i for i in range(len(cuts) - 1) if period.start <= cuts[i] and cuts[i + 1] <= period.end}


def _pieces_of(
    cuts: list[datetime], zone: str
) -> tuple[dict[tuple[str, int, int], int], list[tuple[int, datetime, datetime]]]:
    """The whole pieces of days (UTC days cut at the site's midnight) inside each stretch between cuts, and
    what is left of the stretches: the partial pieces, as (stretch, start, end)."""
    raw: list[tuple[int, datetime, datetime]] = []
    wanted: dict[tuple[str, int, int], int] = {}
    for i, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        day = a.astimezone(UTC).date()
        while (midnight := datetime(day.year, day.month, day.day, tzinfo=UTC)) < b:
            for start, end in rollups.pieces(day, zone):
                low = max(a, midnight + timedelta(seconds=start))
                high = min(b, midnight + timedelta(seconds=end))
                if low >= high:
                    continue
                if (high - low).total_seconds() == end - start:
                    wanted[(day.isoformat(), start, end)] = i
                else:
                    raw.append((i, low, high))
            day += timedelta(days=1)
    return wanted, raw


def _stored(session: Session, wanted: dict) -> tuple[dict[str, list], set[str]]:
    """The stored rows of the wanted pieces' days, by day; and the days whose rows were cut at other
    midnights (the site's time zone changed since they were written): those are read from the referrals,
    whole, until the rollups are rebuilt."""
    stored: dict[str, list] = defaultdict(list)
    if wanted:
        for row in rollups.read_days(session, min(wanted)[0], max(wanted)[0]):
            stored[row[0]].append(row)
    zone = rollups.zone()
    cut_otherwise = {
        day
        for day, rows in stored.items()
        if any((row[1], row[2]) not in rollups.pieces(date.fromisoformat(day), zone) for row in rows)
    }
    return stored, cut_otherwise


def referral_marginals(session: Session, cuts: list[datetime]) -> rollups.Marginals:
    """The referrals made in each stretch between two cuts, tallied by every dimension the audit groups on:
    whole pieces of days from the rollups (a few rows per day and dimension value, however many referrals),
    partial pieces at the stretches' edges from the referrals themselves (one grouped query). Providers are
    keyed by organization id, neighborhoods by name, as the tables show them."""
    marginals = rollups.Marginals()
    if len(cuts) < 2:
        return marginals
    wanted, raw = _pieces_of(cuts, rollups.zone())
    stored, cut_otherwise = _stored(session, wanted)
    by_dimension: list[tuple[int, str, object, rollups.Tally]] = []
    for (day, start, end), segment in wanted.items():
        if day in cut_otherwise:
            midnight = datetime.fromisoformat(day).replace(tzinfo=UTC)
            raw.append((segment, midnight + timedelta(seconds=start), midnight + timedelta(seconds=end)))
    for day, rows in stored.items():
        if day in cut_otherwise:
            continue
        for _, start, end, dimension, key, *numbers in rows:
            segment = wanted.get((day, start, end))
            if segment is None:
                continue
            tally = rollups.Tally(*numbers)
            if dimension == "kind":
                classification, action = key.split(" ", 1)
                marginals.add_kind(segment, day, classification, action, tally.referrals)
            by_dimension.append((segment, dimension, rollups.stored(key, dimension), tally))
    if raw:
        fine = sorted({a for _, a, _ in raw} | {b for _, _, b in raw})
        segment_of = {(a, b): i for i, a, b in raw}
        for g in referral_scan(session, fine, [(a, b) for _, a, b in raw]):
            segment = segment_of[(fine[g.segment], fine[g.segment + 1])]
            marginals.add_kind(segment, g.day, g.classification, g.action, g.referrals)
            tally = rollups.group_tally(g)
            by_dimension += [(segment, d, key, tally) for d, key in rollups.group_keys(g)]
    for segment, dimension, key, tally in by_dimension:
        marginals.add(segment, dimension, key, tally)
    marginals.translated = {
        "provider": ("service", _lookup(session, Service.id, Service.organization_id)),
        "neighborhood": ("neighborhood", _lookup(session, SitePlace.id, SitePlace.name)),
    }
    return marginals


def _lookup(session: Session, key_column, value_column) -> Callable[[set], dict]:
    """A function giving the values of these keys (one query per new set of keys)."""
    known: dict = {}

    def lookup(keys: set) -> dict:
        missing = keys - set(known)
        if missing:
            known.update(_rows(session, select(key_column, value_column).where(key_column.in_(missing))))
        return {key: known.get(key) for key in keys}

    return lookup


def counts_of(marginals: rollups.Marginals, segments: set[int]) -> ReferralCounts:
    """The referral counts (by day, classification and action; by state) of these stretches."""
    kinds: Counter = Counter()
    for segment in segments:
        kinds.update(marginals.kinds.get(segment, {}))
    states = Counter({state: t.referrals for state, t in marginals.of(segments, "state").items()})
    return ReferralCounts([(*key, n) for key, n in kinds.items() if n], +states)


def referral_counts(session: Session, period: Period) -> ReferralCounts:
    """Count the period's referrals by day, classification, action and state."""
    return counts_of(referral_marginals(session, [period.start, period.end]), {0})


def referrals_by_week(
    session: Session, period: Period, counts: ReferralCounts | None = None
) -> dict[str, Counter]:
    """Referrals made in each ISO week, by classification at the time and by action taken."""
    weeks: dict[str, Counter] = defaultdict(Counter)
    labels: dict[str, str] = {}
    for day_text, classification, action, count in (counts or referral_counts(session, period)).rows:
        if day_text not in labels:
            labels[day_text] = week_of(datetime.strptime(day_text, "%Y-%m-%d"))
        week = weeks[labels[day_text]]
        week[f"classification:{classification}"] += count
        week[f"action:{action}"] += count
        week["total"] += count
    return dict(sorted(weeks.items()))


def displacement_rate(
    session: Session, period: Period, counts: ReferralCounts | None = None
) -> tuple[int, int]:
    """Displacement rate: overrides (placements that delayed people on a waitlist) over all referrals."""
    rows = (counts or referral_counts(session, period)).rows
    return sum(n for _, _, action, n in rows if action == "override"), sum(n for *_, n in rows)


OVERRIDE_DIMENSIONS = ("reason", "provider", "case_manager")


def overrides_by_all(session: Session, period: Period) -> dict[str, Counter]:
    """Overrides by reason code, by provider (same-named providers told apart) and by case manager (one
    grouped query)."""
    rows = session.execute(
        select(Referral.reason_code, Service.organization_id, User.email, func.count())
        .join(Service, Service.id == Referral.service_id)
        .outerjoin(User, User.id == Referral.created_by)
        .where(Referral.action == "override", _made_in(period))
        .group_by(Referral.reason_code, Service.organization_id, User.email)
    ).all()
    providers = provider_labels(session, {row[1] for row in rows})
    tables: dict[str, Counter] = {by: Counter() for by in OVERRIDE_DIMENSIONS}
    for reason, org_id, email, count in rows:
        for by, key in zip(OVERRIDE_DIMENSIONS, (reason, providers[org_id], email), strict=True):
            tables[by][key or "(none)"] += count
    return tables


def overrides_by(session: Session, period: Period, by: str) -> Counter:
    """Overrides by reason code, by provider, or by case manager."""
    return overrides_by_all(session, period)[by]


@dataclass
class DisplacementWithAlternative:
    """An override made although an available alternative was offered at the time."""

    referral_id: int
    reason_code: str | None
    alternatives: int
    nearest_km: float | None
    rejection_reasons: list[str]


AVAILABLE_ALTERNATIVE = ("lead_funded", "spare_capacity", "open_access")


def _overrides_with_alternative(period: Period):
    """(referral id, reason, nearest km) of each override whose check offered an available alternative."""
    return (
        select(
            Referral.id.label("referral_id"),
            Referral.reason_code.label("reason_code"),
            func.min(ReferralAlternative.distance_km).label("nearest_km"),
        )
        .join(ReferralAlternative, ReferralAlternative.referral_id == Referral.id)
        .where(
            Referral.action == "override",
            _made_in(period),
            ReferralAlternative.classification.in_(AVAILABLE_ALTERNATIVE),
        )
        .group_by(Referral.id, Referral.reason_code)
    )


def displacements_with_alternatives(
    session: Session, period: Period, latest: int | None = None
) -> list[DisplacementWithAlternative]:
    """Overrides whose stored check offered a lead_funded, spare_capacity or open_access service
    (all of them, or the `latest` ones)."""
    chosen = _overrides_with_alternative(period).order_by(Referral.id.desc())
    if latest is not None:
        chosen = chosen.limit(latest)
    ids = select(chosen.subquery().c.referral_id)
    rows = session.execute(
        select(
            Referral.id,
            Referral.reason_code,
            ReferralAlternative.distance_km,
            ReferralAlternative.rejection_reason,
        )
        .join(ReferralAlternative, ReferralAlternative.referral_id == Referral.id)
        .where(Referral.id.in_(ids), ReferralAlternative.classification.in_(AVAILABLE_ALTERNATIVE))
        .order_by(Referral.id, ReferralAlternative.position)
    ).all()
    found: dict[int, DisplacementWithAlternative] = {}
    for referral_id, reason, distance, rejection in rows:
        entry = found.setdefault(referral_id, DisplacementWithAlternative(referral_id, reason, 0, None, []))
        entry.alternatives += 1
        if distance is not None and (entry.nearest_km is None or distance < entry.nearest_km):
            entry.nearest_km = distance
        entry.rejection_reasons.append(rejection or "(not said)")
    return list(found.values())


@dataclass
class AlternativeSummary:
    """Displacements where an alternative existed, summed up: how many, by reason, by why they did not fit."""

    count: int
    by_reason: dict[str, tuple[int, float | None]]  # reason -> (overrides, median nearest km)
    by_rejection: Counter


def alternative_summary(session: Session, period: Period) -> AlternativeSummary:
    """Overrides with an available alternative: the count, by reason code (with the median distance to the
    nearest alternative), and the reasons given for not taking the alternatives."""
    rows = _rows(session, _overrides_with_alternative(period))
    distances: dict[str, list[float]] = defaultdict(list)
    counts: Counter = Counter()
    for _, reason, nearest in rows:
        key = reason or "(none)"
        counts[key] += 1
        if nearest is not None:
            distances[key].append(nearest)
    by_reason = {
        key: (counts[key], round(median(distances[key]), 1) if distances[key] else None)
        for key in sorted(counts)
    }
    rejection = func.coalesce(ReferralAlternative.rejection_reason, literal_column("'(not said)'"))
    by_rejection = Counter(
        dict(
            _rows(
                session,
                select(rejection, func.count())
                .join(Referral, Referral.id == ReferralAlternative.referral_id)
                .where(
                    Referral.action == "override",
                    _made_in(period),
                    ReferralAlternative.classification.in_(AVAILABLE_ALTERNATIVE),
                )
                .group_by(rejection),
            )
        )
    )
    return AlternativeSummary(len(rows), by_reason, by_rejection)


def displacements_without_alternative(session: Session, period: Period) -> int:
    """Overrides where no available alternative was offered."""
    offered = (
        select(ReferralAlternative.id)
        .where(
            ReferralAlternative.referral_id == Referral.id,
            ReferralAlternative.classification.in_(AVAILABLE_ALTERNATIVE),
        )
        .exists()
    )
    return session.scalar(
        select(func.count())
        .select_from(Referral)
        .where(Referral.action == "override", _made_in(period), ~offered)
    )


DIMENSIONS = ("domain", "neighborhood", "language", "population")


def breakdowns_of(marginals: rollups.Marginals, segments: set[int]) -> dict[str, dict[str, Counter]]:
    """Referrals and overrides by IIP domain, neighborhood, language and population, in these stretches."""
    tables: dict[str, dict[str, Counter]] = {d: defaultdict(Counter) for d in DIMENSIONS}
    for dimension in DIMENSIONS:
        for key, tally in marginals.of(segments, dimension).items():
            entry = tables[dimension][key or "(not recorded)"]
            entry["referrals"] += tally.referrals
            if tally.overrides:
                entry["overrides"] += tally.overrides
    return {d: dict(sorted(table.items())) for d, table in tables.items()}


def breakdowns(session: Session, period: Period) -> dict[str, dict[str, Counter]]:
    """Referrals and overrides by IIP domain, neighborhood, language and population."""
    return breakdowns_of(referral_marginals(session, [period.start, period.end]), {0})


@dataclass
class LeadCapacity:
    """LEAD-funded capacity of one provider."""

    provider: str
    purchased: int
    used: int
    held: int
    idle: int
    idle_unit_days: float


class Accepted(NamedTuple):
    """Referrals accepted (closed) in a period that agree on action, placement at acceptance, hold, provider
    and whether their outcome is withheld from the audit."""

    action: str
    placement: str | None
    hold: str
    organization_id: int
    withheld: bool
    count: int


def _withheld():
    """The outcome does not come back to the audit: a Part 2 program without a release, or a confidential
    referral (only the referring case manager learns it)."""
    return Referral.outcome_shared.is_(False) | Referral.reference.is_not(None)


def accepted_in(session: Session, period: Period) -> list[Accepted]:
    """Referrals accepted in the period, grouped (one query that the placements and the LEAD "used" column
    both read; it reads only the covering index ix_referral_accepted, and the services' providers come
    from a second, small query)."""
    withheld = case((_withheld(), 1), else_=0)
    keys = (Referral.action, Referral.placement, Referral.hold, Referral.service_id, withheld)
    rows = _rows(
        session,
        select(*keys, func.count())
        .where(
            Referral.state == "accepted",
            Referral.closed_at >= period.start,
            Referral.closed_at < period.end,
        )
        .group_by(*keys),
    )
    services = {row[3] for row in rows}
    provider = (
        dict(_rows(session, select(Service.id, Service.organization_id).where(Service.id.in_(services))))
        if services
        else {}
    )
    grouped: Counter = Counter()
    for action, placement, hold, service_id, withheld_flag, count in rows:
        grouped[(action, placement, hold, provider[service_id], bool(withheld_flag))] += count
    return [Accepted(*key, count) for key, count in grouped.items()]


def lead_capacity(
    session: Session,
    period: Period,
    now: datetime,
    accepted: list[Accepted] | None = None,
    labels: Callable[[set[int]], dict[int, str]] | None = None,
) -> list[LeadCapacity]:
    """LEAD-funded units per provider: purchased now, used (placements accepted in the period, but never one
    whose outcome is withheld from the audit), held, idle, and idle unit-days in the period (free LEAD
    units integrated over time from the capacity history)."""
    rows = session.execute(
        select(
            Organization.id,
            Organization.name,
            ServiceCapacity.service_id,
            ServiceCapacity.lead_funded_maximum,
            ServiceCapacity.lead_funded_available,
            ServiceCapacity.held_lead,
        )
        .join(Service, Service.organization_id == Organization.id)
        .join(ServiceCapacity, ServiceCapacity.service_id == Service.id)
        .where(ServiceCapacity.lead_funded_maximum > 0)
    ).all()
    by_org: dict[int, LeadCapacity] = {}
    services_by_org: dict[int, list[int]] = defaultdict(list)
    idle_now: dict[int, int] = {}
    for org_id, name, service_id, maximum, available, held in rows:
        entry = by_org.setdefault(org_id, LeadCapacity(name, 0, 0, 0, 0, 0.0))
        entry.purchased += maximum
        entry.held += held
        idle_now[service_id] = max(0, available - held)
        entry.idle += idle_now[service_id]
        services_by_org[org_id].append(service_id)
    for group in accepted if accepted is not None else accepted_in(session, period):
        # An acceptance whose outcome is withheld (issue 24) is not counted: "used" would reveal it.
        if group.hold == "lead" and not group.withheld and group.organization_id in by_org:
            by_org[group.organization_id].used += group.count
    snapshots = _idle_snapshots(session, list(idle_now), period, now)
    for org_id, service_ids in services_by_org.items():
        by_org[org_id].idle_unit_days = round(
            sum(_idle_unit_days(snapshots.get(sid, []), idle_now[sid], period, now) for sid in service_ids), 2
        )
    names = (labels or ProviderLabels(session))(set(by_org))
    for org_id, entry in by_org.items():
        entry.provider = names[org_id]
    return sorted(by_org.values(), key=lambda e: e.provider)


def _idle_snapshots(
    session: Session, service_ids: list[int], period: Period, now: datetime
) -> dict[int, list[tuple[datetime, int]]]:
    """Free LEAD units (available - held) after each recorded change before the period's end, per service
    in time order: one query for all the services, however many there are."""
    end = min(period.end, now)
    if end <= period.start or not service_ids:
        return {}
    events = session.execute(
        select(CapacityEvent.service_id, CapacityEvent.at, CapacityEvent.after)
        .where(CapacityEvent.service_id.in_(service_ids), CapacityEvent.at < end)
        .order_by(CapacityEvent.service_id, CapacityEvent.at, CapacityEvent.id)
    ).all()
    snapshots: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for service_id, at, after in events:
        idle = max(0, (after.get("lead_funded_available") or 0) - (after.get("held_lead") or 0))
        snapshots[service_id].append((at, idle))
    return snapshots


def _idle_unit_days(
    snapshots: list[tuple[datetime, int]], idle_now: int, period: Period, now: datetime
) -> float:
    """Free LEAD units of one service integrated over the period, from its snapshots (see _idle_snapshots)."""
    end = min(period.end, now)
    if end <= period.start:
        return 0.0
    current = None
    moments: list[tuple[datetime, int]] = []
    for at, idle in snapshots:
        if at <= period.start:
            current = idle
        else:
            moments.append((at, idle))
    if current is None:
        # No snapshot before the period: the first one (or the row as it is now) stands for the start.
        current = moments[0][1] if moments else idle_now
    total, last = 0.0, period.start
    for at, idle in moments:
        total += current * (at - last).total_seconds()
        current, last = idle, at
    total += current * (end - last).total_seconds()
    return total / 86400


@dataclass
class Additionality:
    """A provider whose general capacity fell while its LEAD-funded units grew."""

    provider: str
    general_before: int
    general_after: int
    lead_before: int
    lead_after: int


def additionality_flags(
    session: Session, period: Period, labels: Callable[[set[int]], dict[int, str]] | None = None
) -> list[Additionality]:
    """Providers whose general maximum fell while their LEAD-funded maximum grew during the period
    (LEAD money supplanting, not adding), from the capacity history."""
    events = session.execute(
        select(
            CapacityEvent.service_id,
            CapacityEvent.at,
            CapacityEvent.before,
            CapacityEvent.after,
            Service.organization_id,
            Organization.name,
        )
        .join(Service, Service.id == CapacityEvent.service_id)
        .join(Organization, Organization.id == Service.organization_id)
        .where(CapacityEvent.at < period.end)
        .order_by(CapacityEvent.at, CapacityEvent.id)
    ).all()
    start_state: dict[int, dict] = {}
    end_state: dict[int, dict] = {}
    org_of: dict[int, tuple[int, str]] = {}
    for service_id, at, before, after, org_id, org_name in events:
        org_of[service_id] = (org_id, org_name)
        if at <= period.start:
            start_state[service_id] = after
        else:
            start_state.setdefault(service_id, before or after)
        end_state[service_id] = after
    totals: dict[int, list] = {}
    for service_id, (org_id, org_name) in org_of.items():
        entry = totals.setdefault(org_id, [org_name, 0, 0, 0, 0])
        before, after = start_state[service_id], end_state[service_id]
        entry[1] += before.get("maximum") or 0
        entry[2] += after.get("maximum") or 0
        entry[3] += before.get("lead_funded_maximum") or 0
        entry[4] += after.get("lead_funded_maximum") or 0
    names = (labels or ProviderLabels(session))(set(totals))
    for org_id, entry in totals.items():
        entry[0] = names[org_id]
    return sorted(
        (Additionality(*entry) for entry in totals.values() if entry[2] < entry[1] and entry[4] > entry[3]),
        key=lambda a: a.provider,
    )


def unmet_participants(session: Session, period: Period) -> dict[str, dict[str, tuple[int, int]]]:
    """Unmet need per dimension: key -> (distinct participants, checks). A check without a participant
    counts as one participant of its own."""
    rows = session.execute(
        select(
            ReferralCheck.domain,
            SitePlace.name,
            ReferralCheck.language,
            ReferralCheck.population,
            ReferralCheck.participant_id,
            func.count(),
        )
        .select_from(ReferralCheck)
        .outerjoin(SitePlace, SitePlace.id == ReferralCheck.neighborhood_id)
        .where(ReferralCheck.unmet.is_(True), ReferralCheck.at >= period.start, ReferralCheck.at < period.end)
        .group_by(
            ReferralCheck.domain,
            SitePlace.name,
            ReferralCheck.language,
            ReferralCheck.population,
            ReferralCheck.participant_id,
        )
    ).all()
    people: dict[str, dict[str, set]] = {d: defaultdict(set) for d in DIMENSIONS}
    checks: dict[str, Counter] = {d: Counter() for d in DIMENSIONS}
    anonymous = 0
    for *keys, participant_id, count in rows:
        for dimension, key in zip(DIMENSIONS, keys, strict=True):
            key = key or "(not recorded)"
            checks[dimension][key] += count
            if participant_id is None:
                for n in range(count):
                    people[dimension][key].add(("check", anonymous + n))
            else:
                people[dimension][key].add(participant_id)
        if participant_id is None:
            anonymous += count
    return {d: {key: (len(people[d][key]), checks[d][key]) for key in sorted(checks[d])} for d in DIMENSIONS}


def unmet_need(session: Session, period: Period, dimension: str) -> Counter:
    """Unmet need in checks by domain, neighborhood, language or population (see unmet_participants)."""
    return Counter(
        {key: checks for key, (_, checks) in unmet_participants(session, period)[dimension].items()}
    )


def outcomes(session: Session, period: Period, counts: ReferralCounts | None = None) -> dict:
    """Outcomes of referrals made in the period: accepted, declined, expired, cancelled, still open; and the
    days from referral to acceptance (median and mean)."""
    states: Counter = Counter()
    for state, count in (counts or referral_counts(session, period)).states.items():
        states[state if state in (*CLOSED_OUTCOMES, NOT_SHARED) else "open"] += count
    # Withheld outcomes are left out here, not in SQL: a condition on `reference` (unique, nearly all NULL)
    # would lead SQLite to walk that index instead of the period's range of created_at.
    days = [
        days
        for days, withheld in _rows(
            session,
            select(
                _days_between(session, Referral.created_at, Referral.closed_at),
                case((_withheld(), 1), else_=0),
            ).where(
                _made_in(period),
                Referral.state == "accepted",
                Referral.closed_at.is_not(None),
            ),
        )
        if not withheld
    ]
    return {
        "counts": {state: states.get(state, 0) for state in (*CLOSED_OUTCOMES, "open", NOT_SHARED)},
        "median_days_to_accept": round(median(days), 2) if days else None,
        "mean_days_to_accept": round(sum(days) / len(days), 2) if days else None,
    }


class Tables:
    """The dashboard's tables for one period, each computed on first use and kept: the full page reads them
    all (tables cut from one grouped query share its single run: the scan of the period's referrals, and
    the referrals accepted in it), an export reads one and runs only what that table needs. `months` (the
    trend's months) widen the one scan so that the avoidable-displacement trend reads it too."""

    def __init__(
        self, session: Session, period: Period, now: datetime, months: list[tuple[str, Period]] | tuple = ()
    ):
        self.session, self.period, self.now = session, period, now
        self.months = list(months)
        self.cuts = cuts_of(period, self.months)
        self.labels = ProviderLabels(session)

    @cached_property
    def marginals(self) -> rollups.Marginals:
        """The referrals made in the period and the trend months, tallied (see referral_marginals)."""
        return referral_marginals(self.session, self.cuts)

    @cached_property
    def in_period(self) -> set[int]:
        """The stretches between cuts that make up the period itself."""
        return segments_within(self.cuts, self.period)

    @cached_property
    def counts(self) -> ReferralCounts:
        """The referral counts behind the weekly table, the displacement rate and the outcomes."""
        return counts_of(self.marginals, self.in_period)

    @cached_property
    def weeks(self) -> dict[str, Counter]:
        """Referrals per ISO week (see referrals_by_week)."""
        return referrals_by_week(self.session, self.period, self.counts)

    @cached_property
    def overrides(self) -> dict[str, Counter]:
        """Overrides by reason, provider and case manager (see overrides_by_all)."""
        return overrides_by_all(self.session, self.period)

    @cached_property
    def all_with_alternative(self) -> list[DisplacementWithAlternative]:
        """Every override with an available alternative (the page lists only the latest)."""
        return displacements_with_alternatives(self.session, self.period)

    @cached_property
    def breakdowns(self) -> dict[str, dict[str, Counter]]:
        """Referrals and overrides by each dimension (see breakdowns)."""
        return breakdowns_of(self.marginals, self.in_period)

    @cached_property
    def accepted(self) -> list[Accepted]:
        """The referrals accepted in the period, grouped (see accepted_in)."""
        return accepted_in(self.session, self.period)

    @cached_property
    def lead(self) -> list[LeadCapacity]:
        """LEAD-funded capacity per provider (see lead_capacity)."""
        return lead_capacity(self.session, self.period, self.now, self.accepted, self.labels)

    @cached_property
    def unmet(self) -> dict[str, dict[str, tuple[int, int]]]:
        """Unmet need by each dimension, in participants and checks (see unmet_participants)."""
        return unmet_participants(self.session, self.period)


def _weekly_rows(tables: Tables) -> list[list]:
    keys = [f"classification:{c}" for c in cap.CLASSIFICATIONS] + [f"action:{a}" for a in cap.ACTIONS]
    return [["week", *keys, "total"]] + [
        [week, *[counts.get(k, 0) for k in keys], counts["total"]] for week, counts in tables.weeks.items()
    ]


def _override_rows(by: str) -> Callable[[Tables], list[list]]:
    return lambda tables: [["key", "overrides"]] + sorted([k, v] for k, v in tables.overrides[by].items())


def _with_alternative_rows(tables: Tables) -> list[list]:
    return [["referral_id", "reason_code", "alternatives", "nearest_km", "why_they_did_not_fit"]] + [
        [r.referral_id, r.reason_code, r.alternatives, r.nearest_km, "; ".join(r.rejection_reasons)]
        for r in tables.all_with_alternative
    ]


def _lead_rows(tables: Tables) -> list[list]:
    return [["provider", "purchased", "used", "held", "idle", "idle_unit_days"]] + [
        [r.provider, r.purchased, r.used, r.held, r.idle, r.idle_unit_days] for r in tables.lead
    ]


def _unmet_rows(dimension: str) -> Callable[[Tables], list[list]]:
    return lambda tables: (
        [[dimension, "unmet_participants", "unmet_checks"]]
        + [[k, people, checks] for k, (people, checks) in tables.unmet[dimension].items()]
    )


def _breakdown_rows(dimension: str) -> Callable[[Tables], list[list]]:
    return lambda tables: (
        [[dimension, "referrals", "overrides"]]
        + [[k, v.get("referrals", 0), v.get("overrides", 0)] for k, v in tables.breakdowns[dimension].items()]
    )


# Each exportable table by its CSV name: a function of the period's Tables giving the header and the rows.
# Reading only the one attribute it needs, an export runs that table's queries and no others.
EXPORTS: dict[str, Callable[[Tables], list[list]]] = {
    "weekly": _weekly_rows,
    **{f"overrides_by_{by}": _override_rows(by) for by in OVERRIDE_DIMENSIONS},
    "with_alternative": _with_alternative_rows,
    "lead_capacity": _lead_rows,
    **{f"unmet_{d}": _unmet_rows(d) for d in DIMENSIONS},
    **{f"by_{d}": _breakdown_rows(d) for d in DIMENSIONS},
}
