"""Public aggregates with small-count suppression that no published total can undo.

Every published table is a set of one-dimensional lines: a total and its parts (for one month: referrals
by classification, or by IIP domain). A part from 1 to 4 is shown as "fewer than 5" (primary
suppression). A line with exactly one hidden part would give it away through the total, so a second
part is hidden too, but only one that truly is below 5 (zeros count), because "fewer than 5" must stay
true. When that is impossible, or when the hidden parts could only add up one way (all 0, or all 4),
the line's total is withheld instead. Zero is shown as 0.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Referral, ServiceCapacity
from . import capacity as cap
from .clock import SiteClock

HIDDEN = "fewer than 5"
THRESHOLD = 5


@dataclass
class Line:
    """One published line: its total (or None if withheld) and its parts."""

    total: int | str | None
    parts: dict[str, int | str]


def protect(total: int, parts: dict[str, int]) -> Line:
    """Suppress small parts of a line so that none can be derived from what is shown."""
    hidden = {name for name, value in parts.items() if 0 < value < THRESHOLD}
    shown_total: int | str | None = total if total == 0 or total >= THRESHOLD else HIDDEN
    if shown_total != HIDDEN and len(hidden) == 1:
        # A single hidden part equals the total minus the rest: hide one more small part (zeros first).
        candidates = sorted(
            (value, name) for name, value in parts.items() if name not in hidden and value < THRESHOLD
        )
        if candidates:
            hidden.add(candidates[0][1])
        else:
            shown_total = None
    if shown_total not in (None, HIDDEN) and hidden:
        remainder = total - sum(value for name, value in parts.items() if name not in hidden)
        # All hidden parts at their lowest (0) or highest (4) possible value would be determined.
        if remainder in (0, (THRESHOLD - 1) * len(hidden)):
            shown_total = None
    return Line(shown_total, {name: (HIDDEN if name in hidden else value) for name, value in parts.items()})


def rate_text(numerator: int, denominator: int) -> str:
    """A percentage as text, or a note when the numerator would reveal a small count."""
    if denominator == 0:
        return "no referrals"
    if 0 < numerator < THRESHOLD or denominator < THRESHOLD:
        return "not shown (fewer than 5)"
    return f"{100 * numerator / denominator:.1f}%"


def public_aggregates(session: Session, clock: SiteClock, months_back: int = 12) -> dict:
    """The transparency report: per site month, referrals by classification and by domain, the displacement
    rate, and LEAD-funded utilisation now. Counts only; no codes, names or free text."""
    now = clock.now()
    cutoff = now - timedelta(days=31 * months_back)
    earliest = session.scalar(select(Referral.created_at).order_by(Referral.created_at).limit(1))
    start = max(cutoff, earliest) if earliest else now
    periods = []
    for month_start, month_end in clock.months(start, now):
        rows = session.execute(
            select(Referral.classification, Referral.domain, Referral.action).where(
                Referral.created_at >= month_start, Referral.created_at < month_end
            )
        ).all()
        total = len(rows)
        by_classification = Counter(row[0] for row in rows)
        by_domain = Counter(row[1] or "unknown" for row in rows)
        overrides = sum(1 for row in rows if row[2] == "override")
        periods.append(
            {
                "period": clock.local(month_start).strftime("%Y-%m"),
                "start": clock.local(month_start).date().isoformat(),
                "end": clock.local(month_end).date().isoformat(),
                "referrals_by_classification": _line(
                    total, {c: by_classification.get(c, 0) for c in cap.CLASSIFICATIONS}
                ),
                "referrals_by_domain": _line(total, dict(sorted(by_domain.items()))),
                "displacement_rate": rate_text(overrides, total),
            }
        )
    purchased, free = 0, 0
    for maximum, available, held in session.execute(
        select(
            ServiceCapacity.lead_funded_maximum,
            ServiceCapacity.lead_funded_available,
            ServiceCapacity.held_lead,
        )
    ):
        purchased += maximum
        free += max(0, available - held)
    in_use = purchased - free
    utilisation = _line(purchased, {"in_use_or_held": in_use, "free": free})
    return {
        "generated_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "suppression": f'counts of 1 to 4 are shown as "{HIDDEN}"; totals that would reveal one are withheld',
        "periods": periods,
        "lead_funded_units_now": {**utilisation, "utilisation": rate_text(in_use, purchased)},
    }


def _line(total: int, parts: dict[str, int]) -> dict:
    line = protect(total, parts)
    out: dict = {"parts": line.parts}
    if line.total is not None:
        out["total"] = line.total
    return out
