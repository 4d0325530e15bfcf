"""The site clock: days and months begin at the site's midnight, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from directory.domain.clock import SiteClock

SEATTLE = SiteClock("America/Los_Angeles")


def test_a_day_begins_at_local_midnight_whatever_the_offset():
    # Pacific Standard Time is UTC-8, Daylight Time UTC-7 (written out, not computed by zoneinfo).
    assert SEATTLE.day_start(date(2026, 1, 15)) == datetime(2026, 1, 15, 8, tzinfo=UTC)
    assert SEATTLE.day_start(date(2026, 7, 15)) == datetime(2026, 7, 15, 7, tzinfo=UTC)


def test_the_days_around_a_change_are_23_and_25_hours_long():
    spring = SEATTLE.days(date(2026, 3, 8), date(2026, 3, 8))  # clocks go forward at 02:00
    autumn = SEATTLE.days(date(2026, 11, 1), date(2026, 11, 1))  # and back at 02:00
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


def test_months_are_the_sites_months():
    months = SEATTLE.months(datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 12, 1, 3, tzinfo=UTC))
    # 2026-12-01 03:00 UTC is still 30 November in Seattle: two months, October and November.
    assert months == [
        (datetime(2026, 10, 1, 7, tzinfo=UTC), datetime(2026, 11, 1, 7, tzinfo=UTC)),
        (datetime(2026, 11, 1, 7, tzinfo=UTC), datetime(2026, 12, 1, 8, tzinfo=UTC)),
    ]


def test_weekday_and_time_on_the_changeover_night():
    # 01:30 local happens twice on 1 November 2026: 08:30 UTC (PDT) and 09:30 UTC (PST).
    assert SEATTLE.weekday_and_time(datetime(2026, 11, 1, 8, 30, tzinfo=UTC))[0::2] == (
        "SU",
        datetime(2026, 1, 1, 1, 30).time(),
    )
    assert SEATTLE.weekday_and_time(datetime(2026, 11, 1, 9, 30, tzinfo=UTC))[0::2] == (
        "SU",
        datetime(2026, 1, 1, 1, 30).time(),
    )
    assert SEATTLE.weekday_and_time(datetime(2026, 11, 2, 7, 59, tzinfo=UTC))[:2] == ("SU", "SA")


def test_now_comes_from_the_source_in_utc():
    fixed = datetime(2026, 11, 30, 12, tzinfo=UTC)
    clock = SiteClock("America/Los_Angeles", lambda: fixed)
    assert clock.now() == fixed and clock.today() == date(2026, 11, 30)
    assert SiteClock("America/Los_Angeles", lambda: datetime(2026, 12, 1, 3, tzinfo=UTC)).today() == date(
        2026, 11, 30
    )
