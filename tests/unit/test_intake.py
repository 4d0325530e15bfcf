"""Intake windows and the hold that ends when intake closes, in the site's zone and across a clock change."""

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

from directory.domain.intake import hold_end, hold_end_for, intake_windows

ZONE = "America/Los_Angeles"
TWICE_DAILY = intake_windows("Intake daily 8-10 am and 4-6 pm")


def pst(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Seattle wall-clock moment in November 2026 after the clocks went back (UTC-8), as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) + timedelta(hours=8)


def test_the_word_intake_and_a_colon_are_not_read_as_hours():
    assert intake_windows("Intake: daily 8-10 am and 4-6 pm") == TWICE_DAILY
    assert len(TWICE_DAILY) == 14  # seven days, two windows each
    assert {(w.opens_at, w.closes_at) for w in TWICE_DAILY} == {(time(8), time(10)), (time(16), time(18))}


def test_text_that_does_not_say_which_days_is_not_guessed():
    assert intake_windows("Intake 8-10 am and 4-6 pm") is None
    assert intake_windows("ask at the desk") is None
    assert intake_windows("") == [] and intake_windows(None) == []


def test_a_hold_made_during_morning_intake_ends_when_it_closes():
    end = hold_end(pst(24, 9), pst(24, 12), TWICE_DAILY, ZONE)  # made 9:00, three hours
    assert end.at == pst(24, 10) and end.intake_closes


def test_a_hold_that_runs_out_during_intake_keeps_its_whole_time():
    end = hold_end(pst(24, 14, 30), pst(24, 17, 30), TWICE_DAILY, ZONE)
    assert end.at == pst(24, 17, 30) and not end.intake_closes


def test_a_hold_that_runs_past_evening_intake_ends_at_its_close():
    end = hold_end(pst(24, 15), pst(24, 19), TWICE_DAILY, ZONE)
    assert end.at == pst(24, 18) and end.intake_closes


def test_a_hold_that_ends_before_intake_opens_says_when_it_opens():
    end = hold_end(pst(24, 11), pst(24, 14), TWICE_DAILY, ZONE)
    assert end.at == pst(24, 14) and not end.intake_closes
    assert end.next_intake == pst(24, 16)


def test_unreadable_or_round_the_clock_intake_never_shortens_a_hold():
    assert hold_end(pst(24, 9), pst(24, 12), [], ZONE).at == pst(24, 12)
    always = intake_windows("24 hours")
    end = hold_end(pst(24, 9), pst(24, 12), always, ZONE)
    assert end.at == pst(24, 12) and not end.intake_closes


def test_intake_closing_the_morning_after_the_clocks_go_back():
    # Clocks went back at 02:00 on Sunday 1 November 2026. A 27-hour hold made at 9:00 PDT on 31 October
    # (16:00 UTC) would run to 19:00 UTC = 11:00 PST; morning intake closes at 10:00 PST = 18:00 UTC (at
    # 17:00 UTC had the zone's summer offset been used).
    made = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    end = hold_end(made, made + timedelta(hours=27), TWICE_DAILY, ZONE)
    assert end.at == datetime(2026, 11, 1, 18, 0, tzinfo=UTC) and end.intake_closes


def test_monthly_intake_counts_only_on_its_day():
    # Intake on the last Friday of the month only: 27 November 2026 is the last Friday.
    windows = intake_windows("last Friday 9 am - 12 pm")
    assert windows is not None and [w.byday for w in windows] == ["-1FR"]
    end = hold_end(pst(27, 10), pst(27, 13), windows, ZONE)
    assert end.at == pst(27, 12) and end.intake_closes
    end = hold_end(pst(20, 10), pst(20, 13), windows, ZONE)  # 20 November is a Friday, not the last
    assert end.at == pst(20, 13) and not end.intake_closes


def test_the_site_hold_duration_is_the_ceiling():
    site = SimpleNamespace(hold_hours={"shelter_bed": 3}, time_zone=ZONE)
    service = SimpleNamespace(intake_times="Intake daily 8-10 am and 4-6 pm")
    assert hold_end_for(service, "shelter_bed", pst(24, 9), site).at == pst(24, 10)
    assert hold_end_for(service, "shelter_bed", pst(24, 16), site).at == pst(24, 18)
    assert hold_end_for(service, "van_seat", pst(24, 9), site) is None
