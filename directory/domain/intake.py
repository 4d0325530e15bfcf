"""Intake windows: when a program takes people in, read from the provider's intake times, and the hold that
ends when intake closes when that comes before the hold's full duration."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from scrapers.hours import read_hours

from .hours import day_codes

# Providers often start the field with the word itself ("Intake 8-10 am ..."): it says nothing about when.
_LEADING_WORD = re.compile(r"^\s*intake\b\s*:?\s*", re.IGNORECASE)


def intake_windows(text: str | None):
    """The intake openings the text states exactly ([] when there is no text; None when it is not understood:
    then no hold is shortened, and nothing is guessed)."""
    if not text or not text.strip():
        return []
    return read_hours(_LEADING_WORD.sub("", text))


@dataclass(frozen=True)
class HoldEnd:
    """When a hold ends, and why: its full duration, or intake closing first."""

    at: datetime
    intake_closes: bool = False
    next_intake: datetime | None = None  # set when intake next opens only after the hold has ended


def _local_day_moment(day: date, moment, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def _spans(windows, start: datetime, end: datetime, time_zone: str) -> list[tuple[datetime, datetime]]:
    """Every intake opening (start, end) in UTC that touches [start, end], from the site's local days."""
    zone = ZoneInfo(time_zone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    spans = []
    day = first
    while day <= last:
        codes = day_codes(day)
        for window in windows:
            if window.byday not in codes:
                continue
            closes_day = day + timedelta(days=1) if window.closes_at <= window.opens_at else day
            opens = _local_day_moment(day, window.opens_at, zone)
            spans.append((opens, _local_day_moment(closes_day, window.closes_at, zone)))
        day += timedelta(days=1)
    return sorted(spans)


def hold_end(now: datetime, full_end: datetime, windows, time_zone: str) -> HoldEnd:
    """The end of a hold made at `now` that would last until `full_end`: the close of the last intake window
    before `full_end` when the participant could not get in at `full_end` (intake closed then)."""
    if not windows:
        return HoldEnd(full_end)
    spans = _spans(windows, now, full_end, time_zone)
    if any(opens <= full_end < closes for opens, closes in spans):
        return HoldEnd(full_end)  # intake is open when the hold runs out: the whole hold is usable
    closes = [closes for opens, closes in spans if now < closes <= full_end]
    if closes:
        return HoldEnd(max(closes), intake_closes=True)
    upcoming = [opens for opens, _ in spans if opens > full_end]
    return HoldEnd(full_end, next_intake=min(upcoming) if upcoming else None)


def hold_end_for(service, unit: str | None, now: datetime, site) -> HoldEnd | None:
    """The end of a hold on this service's unit made now (None when the unit has no hold duration)."""
    hours = site.hold_hours.get(unit) if unit else None
    if hours is None:
        return None
    windows = intake_windows(service.intake_times)
    return hold_end(now, now + timedelta(hours=hours), windows or [], site.time_zone)


def ends_when_intake_closes(referral, site) -> bool:
    """Whether a held referral's end is intake closing (recomputed from when it was made: the same intake
    times give the same end, so nothing more is stored)."""
    if referral.state != "held" or referral.expires_at is None or not referral.capacity_snapshot:
        return False
    end = hold_end_for(referral.service, referral.capacity_snapshot.get("unit"), referral.created_at, site)
    return end is not None and end.intake_closes and end.at == referral.expires_at
