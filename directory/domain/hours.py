"""Opening hours: "open now" in the site's time zone, including hours that run past midnight."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import and_, exists, or_, select

from .clock import SiteClock


def local_moment(now: datetime, time_zone: str) -> tuple[str, str, time]:
    """(today's HSDS weekday, yesterday's weekday, local time) at `now` in the zone, by the site clock."""
    return SiteClock(time_zone).weekday_and_time(now)


def is_open(schedules, now: datetime, time_zone: str) -> bool:
    """Whether any weekly opening covers `now`. closes_at <= opens_at means it closes the next day."""
    today, yesterday, t = local_moment(now, time_zone)
    for s in schedules:
        overnight = s.closes_at <= s.opens_at
        if s.byday == today and s.opens_at <= t and (overnight or t < s.closes_at):
            return True
        if s.byday == yesterday and overnight and t < s.closes_at:
            return True
    return False


def open_now_sql(schedule_table, service_id_column, now: datetime, time_zone: str):
    """SQL EXISTS clause with the same meaning as `is_open`, for filtering in the database."""
    today, yesterday, t = local_moment(now, time_zone)
    s = schedule_table.c
    overnight = s.closes_at <= s.opens_at
    covers = or_(
        and_(s.byday == today, s.opens_at <= t, or_(overnight, t < s.closes_at)),
        and_(s.byday == yesterday, overnight, t < s.closes_at),
    )
    return exists(select(s.id).where(s.service_id == service_id_column, covers))
