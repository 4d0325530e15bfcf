"""The one site clock: "now", and the site's days and months as UTC instants.

Times are stored in UTC; days and months are the site's own (a Seattle site's November starts at 08:00
UTC on November 1). Every period, month and "open now" computation asks this clock, so none of them can
disagree about where a day begins, including across daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..types import utcnow

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class SiteClock:
    """The site's time zone and a source of "now" (the system clock, or a fixed one in tests)."""

    time_zone: str
    source: Callable[[], datetime] = field(default=utcnow, compare=False)

    @property
    def zone(self) -> ZoneInfo:
        """The site's zone (zoneinfo caches its objects)."""
        return ZoneInfo(self.time_zone)

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        return self.source().astimezone(UTC)

    def local(self, moment: datetime) -> datetime:
        """A stored (UTC) time as the site's wall-clock time."""
        return moment.astimezone(self.zone)

    def today(self, moment: datetime | None = None) -> date:
        """The site's calendar day at a moment (now by default)."""
        return self.local(moment or self.now()).date()

    def day_start(self, day: date) -> datetime:
        """The UTC instant the site's day begins (local midnight)."""
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)

    def days(self, first: date, last: date) -> tuple[datetime, datetime]:
        """The UTC instants [start, end) of the site's days from `first` through `last`, both included."""
        return self.day_start(first), self.day_start(last + timedelta(days=1))

    def month_start(self, moment: datetime) -> datetime:
        """The UTC instant the site's month containing `moment` begins."""
        return self.day_start(self.local(moment).date().replace(day=1))

    def next_month(self, month_start: datetime) -> datetime:
        """The UTC instant the site's next month begins."""
        first = self.local(month_start).date().replace(day=1)
        return self.day_start((first + timedelta(days=32)).replace(day=1))

    def months(self, first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
        """The site's calendar months [start, end), as UTC instants, from first's month to last's."""
        periods = []
        start = self.month_start(first)
        while start <= last:
            end = self.next_month(start)
            periods.append((start, end))
            start = end
        return periods

    def weekday_and_time(self, moment: datetime) -> tuple[str, str, time]:
        """(today's HSDS weekday, yesterday's weekday, local time) at a moment, for opening hours."""
        local = self.local(moment)
        day = local.weekday()
        return WEEKDAYS[day], WEEKDAYS[(day - 1) % 7], local.time().replace(tzinfo=None)
