"""Open now, in the site's time zone, including hours past midnight."""

from datetime import UTC, date, datetime, time
from types import SimpleNamespace

import pytest

from directory.domain.hours import day_codes, is_open
from directory.web.slips import hours_lines, slip_words

TZ = "America/Los_Angeles"


def slot(day, opens, closes):
    return SimpleNamespace(byday=day, opens_at=opens, closes_at=closes)


# 2026-11-24 is a Tuesday; Seattle is UTC-8 in November.
def local(hour, minute=0, day=24):
    return (
        datetime(2026, 11, day, hour + 8, minute, tzinfo=UTC)
        if hour + 8 < 24
        else datetime(2026, 11, day + 1, hour + 8 - 24, minute, tzinfo=UTC)
    )


NINE_TO_FIVE = [slot("TU", time(9), time(17))]
OVERNIGHT_MONDAY = [slot("MO", time(21), time(13))]  # "Mon 2100-1300": past midnight
ALL_DAY_TUESDAY = [slot("TU", time(0), time(0))]


@pytest.mark.parametrize(
    ("schedules", "moment", "expected"),
    [
        (NINE_TO_FIVE, local(9), True),
        (NINE_TO_FIVE, local(8, 59), False),
        (NINE_TO_FIVE, local(16, 59), True),
        (NINE_TO_FIVE, local(17), False),
        (OVERNIGHT_MONDAY, local(12, 59), True),  # Tuesday 12:59, still Monday's opening
        (OVERNIGHT_MONDAY, local(13), False),
        (OVERNIGHT_MONDAY, local(22), False),  # Tuesday 22:00: Monday's opening is over, none on Tuesday
        (ALL_DAY_TUESDAY, local(0), True),
        (ALL_DAY_TUESDAY, local(23, 59), True),
        ([], local(12), False),
    ],
)
def test_is_open(schedules, moment, expected):
    assert is_open(schedules, moment, TZ) is expected


def test_time_zone_is_the_sites():
    # 17:30 UTC on Tuesday is 09:30 in Seattle: open; it is 17:30 in London: closed there.
    moment = datetime(2026, 11, 24, 17, 30, tzinfo=UTC)
    assert is_open(NINE_TO_FIVE, moment, TZ)
    assert not is_open(NINE_TO_FIVE, moment, "Europe/London")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 1 November 2026: 01:30 happens twice in Seattle, at 08:30 UTC (PDT) and 09:30 UTC (PST).
        (datetime(2026, 11, 1, 8, 30, tzinfo=UTC), True),
        (datetime(2026, 11, 1, 9, 30, tzinfo=UTC), True),
        (datetime(2026, 11, 1, 10, 0, tzinfo=UTC), False),  # 02:00 PST: Saturday night's opening is over
        # 8 March 2026: 02:00 does not exist; 09:59 UTC is 01:59 PST, 10:00 UTC is 03:00 PDT.
        (datetime(2026, 3, 8, 9, 59, tzinfo=UTC), True),
        (datetime(2026, 3, 8, 10, 0, tzinfo=UTC), False),
    ],
)
def test_open_now_on_the_nights_the_clocks_change(moment, expected):
    saturday_night = [slot("SA", time(22), time(2))]  # Saturday 22:00 until Sunday 02:00, local time
    assert is_open(saturday_night, moment, TZ) is expected


@pytest.mark.parametrize(
    ("day", "codes"),
    [
        (date(2026, 11, 2), {"MO", "1MO"}),
        (date(2026, 11, 24), {"TU", "4TU", "-1TU"}),  # 24 + 7 = 31 > 30 days: also the last Tuesday
        (date(2026, 11, 23), {"MO", "4MO"}),  # the 30th is a Monday: the 23rd is not the last
        (date(2026, 11, 30), {"MO", "5MO", "-1MO"}),
        (date(2028, 2, 29), {"TU", "5TU", "-1TU"}),
        (date(2026, 2, 22), {"SU", "4SU", "-1SU"}),
    ],
)
def test_the_weekday_codes_of_a_date(day, codes):
    assert day_codes(day) == codes


def test_a_monthly_opening_opens_only_on_its_week():
    first_tuesday = [slot("1TU", time(9), time(17))]
    fourth_tuesday = [slot("4TU", time(9), time(17))]
    assert not is_open(first_tuesday, local(10), TZ)  # 24 November: the fourth Tuesday
    assert is_open(fourth_tuesday, local(10), TZ)
    assert is_open(first_tuesday, local(10, day=3), TZ)  # 3 November: the first Tuesday


def test_the_slip_says_monthly_hours_after_the_weekly_ones_in_its_language():
    schedule = [
        {"byday": d, "opens_at": "09:00", "closes_at": "17:00"} for d in ("MO", "TU", "WE", "TH", "FR")
    ] + [
        {"byday": "-1FR", "opens_at": "18:00", "closes_at": "20:00"},
        {"byday": "1WE", "opens_at": "10:00", "closes_at": "12:00"},
    ]
    assert hours_lines(schedule, slip_words("en")) == [
        "Mon–Fri 09:00–17:00",
        "1st Wed of the month 10:00–12:00",
        "last Fri of the month 18:00–20:00",
    ]
    assert hours_lines(schedule, slip_words("es"))[1:] == [
        "1.er mié del mes 10:00–12:00",
        "último vie del mes 18:00–20:00",
    ]
