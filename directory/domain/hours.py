"""Opening hours: "open now" in the site's zone, weekly and monthly (1st Wednesday, last Friday)."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, exists, or_, select

from scrapers.hours import WEEK, day_words

from .clock import WEEKDAYS, SiteClock

__all__ = ["day_codes", "day_words", "hours_unknown", "is_open", "open_now_sql", "schedule_order"]


def schedule_order(slot) -> tuple:
    """Week order, each weekday's weekly openings before its monthly ones, then by opening time."""
    return (WEEK.index(slot.byday[-2:]), len(slot.byday), slot.byday, slot.opens_at)


def day_codes(day: date) -> frozenset[str]:
    """Every HSDS byday that falls on the date: `WE`, its ordinal from the start (`2WE`) and, in the last
    week of the month, `-1WE`."""
    weekday = WEEKDAYS[day.weekday()]
    codes = {weekday, f"{(day.day - 1) // 7 + 1}{weekday}"}
    if day.day + 7 > calendar.monthrange(day.year, day.month)[1]:
        codes.add(f"-1{weekday}")
    return frozenset(codes)


def local_moment(now: datetime, time_zone: str) -> tuple[frozenset[str], frozenset[str], time]:
    """(today's byday codes, yesterday's byday codes, local time) at `now` in the site's zone."""
    local = SiteClock(time_zone).local(now)
    today = local.date()
    return day_codes(today), day_codes(today - timedelta(days=1)), local.time().replace(tzinfo=None)


def is_open(schedules, now: datetime, time_zone: str) -> bool:
    """Whether any opening covers `now`. closes_at <= opens_at means it closes the next day."""
    today, yesterday, t = local_moment(now, time_zone)
    for s in schedules:
        overnight = s.closes_at <= s.opens_at
        if s.byday in today and s.opens_at <= t and (overnight or t < s.closes_at):
            return True
        if s.byday in yesterday and overnight and t < s.closes_at:
            return True
    return False


def hours_unknown(service) -> bool:
    """Hours the importer could not read (kept as written) and no opening read: "hours unknown — call"."""
    return bool(getattr(service, "hours_text", None)) and not service.schedules


def open_now_sql(schedule_table, service_id_column, now: datetime, time_zone: str):
    """SQL EXISTS clause with the same meaning as `is_open`, for filtering in the database."""
    today, yesterday, t = local_moment(now, time_zone)
    s = schedule_table.c
    overnight = s.closes_at <= s.opens_at
    covers = or_(
        and_(s.byday.in_(sorted(today)), s.opens_at <= t, or_(overnight, t < s.closes_at)),
        and_(s.byday.in_(sorted(yesterday)), overnight, t < s.closes_at),
    )
    return exists(select(s.id).where(s.service_id == service_id_column, covers))
