"""Times people read: the site's zone, the reader's language, daylight-saving changes included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from directory.domain.local_time import moment_text, plain, reader_locale, relative_text

SEATTLE = "America/Los_Angeles"


def test_a_hold_is_told_in_the_sites_time_not_utc():
    ends = datetime(2026, 12, 2, 22, 44, tzinfo=UTC)  # 14:44 in Seattle (PST, UTC-8)
    assert plain(moment_text(ends, SEATTLE)) == "Wed, Dec 2, 2:44 PM"
    assert plain(moment_text(ends, SEATTLE, reader_locale("es"))) == "mié, 2 de dic, 2:44 p.m."


def test_a_hold_made_the_evening_before_the_clocks_go_back_ends_at_the_right_local_hour():
    made = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # Saturday 31 October, 20:00 PDT
    ends = made + timedelta(hours=48)  # 3 November 03:00 UTC: Monday 2 November 19:00 PST, not 20:00
    assert plain(moment_text(made, SEATTLE)) == "Sat, Oct 31, 8:00 PM"
    assert plain(moment_text(ends, SEATTLE)) == "Mon, Nov 2, 7:00 PM"


def test_relative_times_read_as_words():
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert relative_text(now + timedelta(hours=2), now) == "in 2 hours"
    assert relative_text(now - timedelta(hours=3), now) == "3 hours ago"
    assert relative_text(now - timedelta(hours=3), now, reader_locale("es")) == "hace 3 horas"


def test_reader_locales_fall_back_to_what_babel_knows():
    assert reader_locale("es") == "es_US"
    assert reader_locale("so") in ("so", "so_US")
    assert reader_locale(None) == "en_US"
    assert reader_locale("xx") == "en_US"
