"""Public aggregates of closed periods: computed once, stored, suppressed so that no hidden cell can be
worked out from anything published.

A period (a site month, or a quarter when the site file says so) is published after it ends, with one total
and one-dimensional breakdowns of the same referrals (by what the check found, by IIP domain), each listing
all its categories, zeros included. No cross-tabulations, no sums over several periods.

Suppression within a breakdown: when any cell is from 1 to 4, every cell below 5 (zeros included) is shown as
"fewer than 5". Hiding all of them, not only as many as needed, is deliberate: a rule that picked "the first
zero" would tell a reader who knows the rule which hidden cell was the zero. The breakdown is shown only if at
least two cells are hidden and their sum (the total minus the shown cells) is neither 0 nor 4 times their
number: then every hidden cell can take at least two values (see tests/unit/test_transparency.py). Otherwise
the whole breakdown is "not shown". A total from 1 to 4 is itself hidden, and every breakdown with it.
Different breakdowns of one population never constrain each other (any two sets of margins with the same
total are met by some table), so each breakdown is safe on its own.

The displacement rate (overrides / total) is published only when the displacement cell is shown as a number
and the overrides are 0 or at least 5: overrides never exceed displacements, so a small override count could
bound a hidden displacement cell.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..database import writes
from ..models import Referral, TaxonomyTerm, TransparencyPeriod
from ..words import N_, Words
from . import audit
from . import capacity as cap
from .access import Actor
from .clock import SiteClock
from .errors import NotFound, ValidationError

HIDDEN = N_("fewer than 5")
NOT_SHOWN = N_("not shown")
NO_REFERRALS = N_("no referrals")
THRESHOLD = 5
UNKNOWN_DOMAIN = "unknown"
BREAKDOWNS = ("referrals_by_classification", "referrals_by_domain")
SUPPRESSION_TEXT = (
    f'counts of 1 to 4 are shown as "{HIDDEN}", together with every other count below 5 (zeros included) '
    f"of the same breakdown; a breakdown whose hidden counts could be worked out is {NOT_SHOWN}"
)


@dataclass(frozen=True)
class Period:
    """A closed period of the site's calendar: [start, end) as UTC instants, and its label."""

    kind: str
    label: str
    start: datetime
    end: datetime


def suppress(total: int, cells: dict[str, int]) -> dict[str, int | str] | None:
    """One breakdown as published: its cells with the small ones hidden, or None when it cannot be shown."""
    if total == 0:
        return dict(cells)
    if total < THRESHOLD:
        return None
    if not any(0 < value < THRESHOLD for value in cells.values()):
        return dict(cells)
    hidden = [name for name, value in cells.items() if value < THRESHOLD]
    remainder = sum(cells[name] for name in hidden)
    if len(hidden) < 2 or remainder in (0, (THRESHOLD - 1) * len(hidden)):
        return None
    return {name: (HIDDEN if name in hidden else value) for name, value in cells.items()}


def published_total(total: int) -> int | str:
    """The period's one total as published."""
    return HIDDEN if 0 < total < THRESHOLD else total


def displacement_rate(total: int, overrides: int, classification: dict | None) -> str:
    """Overrides as a share of all referrals, or "not shown" when it could narrow a hidden count."""
    if total == 0:
        return NO_REFERRALS
    displaced = None if classification is None else classification.get(cap.DISPLACEMENT)
    if not isinstance(displaced, int) or 0 < overrides < THRESHOLD:
        return NOT_SHOWN
    return f"{100 * overrides / total:.1f}%"


def breakdown(cells: dict[str, int | str] | None) -> dict:
    """A breakdown's published form."""
    return {"shown": cells is not None, "cells": cells}


def figures_of(rows: list[tuple[str, str | None, str]], domains: list[str]) -> dict:
    """The published figures of one period's referrals, given as (classification, domain, action) rows."""
    total = len(rows)
    by_class = Counter(row[0] for row in rows)
    by_domain = Counter(row[1] if row[1] in domains else UNKNOWN_DOMAIN for row in rows)
    overrides = sum(1 for row in rows if row[2] == "override")
    classification = suppress(total, {c: by_class.get(c, 0) for c in cap.CLASSIFICATIONS})
    domain = suppress(total, {d: by_domain.get(d, 0) for d in [*domains, UNKNOWN_DOMAIN]})
    return {
        "total": published_total(total),
        "referrals_by_classification": breakdown(classification),
        "referrals_by_domain": breakdown(domain),
        "displacement_rate": displacement_rate(total, overrides, classification),
    }


def period_of(clock: SiteClock, kind: str, moment: datetime) -> Period:
    """The site period (month or quarter) that contains a moment."""
    day = clock.local(moment).date()
    if kind == "quarter":
        first_month = 3 * ((day.month - 1) // 3) + 1
        first = date(day.year, first_month, 1)
        label = f"{day.year}-Q{(day.month - 1) // 3 + 1}"
        months = 3
    else:
        first = day.replace(day=1)
        label = f"{day.year}-{day.month:02d}"
        months = 1
    year, month = divmod(first.month - 1 + months, 12)
    after = date(first.year + year, month + 1, 1)
    return Period(kind, label, clock.day_start(first), clock.day_start(after))


def closed_periods(clock: SiteClock, kind: str, first: datetime, now: datetime) -> list[Period]:
    """The periods from the one holding `first` up to the last that ended at or before `now`."""
    periods = []
    period = period_of(clock, kind, first)
    while period.end <= now:
        periods.append(period)
        period = period_of(clock, kind, period.end)
    return periods


def domain_codes(session: Session) -> list[str]:
    """The IIP domains (top-level taxonomy terms) in the taxonomy's order."""
    return list(
        session.scalars(
            select(TaxonomyTerm.id)
            .where(TaxonomyTerm.parent_id.is_(None))
            .order_by(TaxonomyTerm.position, TaxonomyTerm.id)
        )
    )


def compute(session: Session, period: Period, domains: list[str]) -> dict:
    """The published figures of a period, from the referrals made in it."""
    rows = session.execute(
        select(Referral.classification, Referral.domain, Referral.action).where(
            Referral.created_at >= period.start, Referral.created_at < period.end
        )
    ).all()
    return figures_of([tuple(row) for row in rows], domains)


def _digest(figures: dict) -> str:
    return hashlib.sha256(json.dumps(figures, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _store(
    session: Session, actor: Actor, period: Period, figures: dict, revision: int, reason: str | None, now
) -> TransparencyPeriod:
    """Store one revision; its publication is an audit event, and that event is the head it records."""
    event = audit.append(
        session,
        actor.id,
        "transparency.publish",
        "transparency_period",
        f"{period.kind}:{period.label}:{revision}",
        {"figures_sha256": _digest(figures), "reason_sha256": audit.text_hash(reason)},
        now,
    )
    row = TransparencyPeriod(
        kind=period.kind,
        period=period.label,
        starts_at=period.start,
        ends_at=period.end,
        revision=revision,
        reason=reason,
        published_at=now,
        figures=figures,
        audit_sequence=event.id,
        audit_hash=event.hash,
        audit_at=event.at,
    )
    session.add(row)
    session.flush()
    return row


@writes
def publish_closed(session: Session, actor: Actor, clock: SiteClock, kind: str) -> list[str]:
    """Compute and store every closed period not stored yet (from the first referral's); idempotent."""
    now = clock.now()
    first = session.scalar(select(func.min(Referral.created_at)))
    if first is None:
        return []
    stored = set(session.scalars(select(TransparencyPeriod.period).where(TransparencyPeriod.kind == kind)))
    domains = domain_codes(session)
    published = []
    for period in closed_periods(clock, kind, first, now):
        if period.label in stored:
            continue
        _store(session, actor, period, compute(session, period, domains), 1, None, now)
        published.append(period.label)
    return published


@writes
def revise(
    session: Session, actor: Actor, clock: SiteClock, kind: str, label: str, reason: str
) -> str | None:
    """Recompute a stored period; store a dated revision with its reason if the figures changed.

    Returns the new revision's label, or None when nothing changed (then nothing is stored)."""
    reason = (reason or "").strip()
    if not 10 <= len(reason) <= 500:
        raise ValidationError(Words(N_("a revision needs a reason of 10 to 500 characters")), "reason")
    latest = session.scalars(
        select(TransparencyPeriod)
        .where(TransparencyPeriod.kind == kind, TransparencyPeriod.period == label)
        .order_by(TransparencyPeriod.revision.desc())
        .limit(1)
    ).first()
    if latest is None:
        raise NotFound(Words(N_("no published %(kind)s %(label)s"), kind=kind, label=label))
    period = Period(kind, label, latest.starts_at, latest.ends_at)
    figures = compute(session, period, domain_codes(session))
    if figures == latest.figures:
        return None
    _store(session, actor, period, figures, latest.revision + 1, reason, clock.now())
    return f"{label} revision {latest.revision + 1}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _head(row: TransparencyPeriod) -> dict:
    return {"sequence": row.audit_sequence, "hash": row.audit_hash, "at": _iso(row.audit_at)}


def published_report(session: Session, clock: SiteClock, kind: str) -> dict:
    """What the public reads: the stored periods of the site's kind, newest first, each at its latest
    revision with the dated list of its revisions. Reads only; computes nothing."""
    rows = session.scalars(
        select(TransparencyPeriod)
        .where(TransparencyPeriod.kind == kind)
        .order_by(TransparencyPeriod.starts_at.desc(), TransparencyPeriod.revision)
    ).all()
    revisions: dict[str, list[TransparencyPeriod]] = {}
    for row in rows:
        revisions.setdefault(row.period, []).append(row)
    periods = []
    for label, history in revisions.items():
        current = history[-1]
        periods.append(
            {
                "period": label,
                "start": clock.local(current.starts_at).date().isoformat(),
                "end": clock.local(current.ends_at).date().isoformat(),
                **current.figures,
                "published_at": _iso(current.published_at),
                "audit_head": _head(current),
                "revisions": [
                    {"published_at": _iso(r.published_at), "reason": r.reason, "audit_head": _head(r)}
                    for r in history
                ],
            }
        )
    return {"period_kind": kind, "suppression": SUPPRESSION_TEXT, "periods": periods}
