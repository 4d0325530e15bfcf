"""The one hours reader: real strings from ../shared/data read exactly or not at all, and round trips."""

from __future__ import annotations

import csv
import io
from datetime import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scrapers.hours import format_hours, hours_of, read_hours
from scrapers.records import ScheduleRecord

DATA = Path(__file__).parents[2].parent / "shared" / "data"
WEEK = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
ALL_DAY = "MO-SU 00:00-00:00"

# Verbatim from the hours columns (211 Miami regular_schedules.original_text, where "\n" is written as a
# backslash and an n; iCarol SF HoursOfOperation), each with the schedule a person reads in it, written by
# hand: "DAYS HH:MM-HH:MM[, HH:MM-HH:MM]; ..." (closing at or before opening means the next day), or None
# for "not understood: keep the provider's words".
CASES = [
    # iCarol San Francisco
    ("24 Hours", ALL_DAY),
    ("24 hours daily", ALL_DAY),
    ("Open 24 hours daily", ALL_DAY),
    ("Daily, 10-1:30", "MO-SU 10:00-13:30"),
    ("Daily, 6am - 6pm", "MO-SU 06:00-18:00"),
    ("Daily, 6am-12am", "MO-SU 06:00-00:00"),
    ("Daily, 9-12, 1-5", "MO-SU 09:00-12:00, 13:00-17:00"),
    ("First Tuesday monthly, 7:30pm-9:30pm", "1TU 19:30-21:30"),
    ("Friday, 11-1:30", "FR 11:00-13:30"),
    ("Friday, 2:30-3:30", "FR 14:30-15:30"),
    (
        "Mon 10 - 6:30; Tue 10 - 8:30; Wed 10 - 8:30; Thu 10 - 8:30; Fri 10 - 6:30;",
        "MO 10:00-18:30; TU-TH 10:00-20:30; FR 10:00-18:30",
    ),
    (
        "Mon 3-9pm; Tue 3-9pm; Wed 3-9pm; Thu 3-9pm; Fri 3-9pm; Sat 2-6pm;",
        "MO-FR 15:00-21:00; SA 14:00-18:00",
    ),
    ("Mon 9:45-11 am;", "MO 09:45-11:00"),
    ("Mon-Fri 9AM-6PM and Saturday 9AM-2PM", "MO-FR 09:00-18:00; SA 09:00-14:00"),
    ("Monday  -Friday, 7-5:30", "MO-FR 07:00-17:30"),
    ("Monday and Wednesday-Friday, 8-5; Tuesday, 8am-8:30pm", "MO,WE-FR 08:00-17:00; TU 08:00-20:30"),
    (
        "Monday, 1-6; Tuesday, 10-9; Wednesday, 1-9; Thursday, 10-6; Friday, 1-6; Saturday, 10-6; "
        "Sunday, closed",
        "MO 13:00-18:00; TU 10:00-21:00; WE 13:00-21:00; TH 10:00-18:00; FR 13:00-18:00; SA 10:00-18:00",
    ),
    (
        "Monday, 3:30-6; Wednesday, 10-12; Thursday: 3:30-6; first Saturday monthly, 10-1",
        "MO 15:30-18:00; WE 10:00-12:00; TH 15:30-18:00; 1SA 10:00-13:00",
    ),
    (
        "Monday, 7am-10am, 1:15pm-7pm. Tuesday-Friday 7am-7pm",
        "MO 07:00-10:00, 13:15-19:00; TU-FR 07:00-19:00",
    ),
    (
        "Monday, Tuesday and Thursday7:30AM-5PMWednesday, 9AM-5PMFriday, 7:30AM-6PM",
        "MO,TU,TH 07:30-17:00; WE 09:00-17:00; FR 07:30-18:00",
    ),
    (
        "Monday, Tuesday, Thursday, Friday, 8-5; Wednesday, 8-12 noon",
        "MO,TU,TH,FR 08:00-17:00; WE 08:00-12:00",
    ),
    (
        "Monday, Tuesday,Thursday, 8:30pm-10pm; Wednesday, 4pm-8pm",
        "MO,TU,TH 20:30-22:00; WE 16:00-20:00",
    ),
    (
        "Monday, closed; Tuesday, 10-6; Wednesday, 12-8; Thursday, 1-7; Friday-Saturday, 1-6",
        "TU 10:00-18:00; WE 12:00-20:00; TH 13:00-19:00; FR-SA 13:00-18:00",
    ),
    ("Monday,Wednesday,Thursday,Friday: 11:00am-4:00pmTuesday closed", "MO,WE,TH,FR 11:00-16:00"),
    (
        "Monday- Friday, 5:30am-9:45pm; Saturday, 8-8; Sunday, 9-6",
        "MO-FR 05:30-21:45; SA 08:00-20:00; SU 09:00-18:00",
    ),
    ("Monday-Friday, 6:30-1; Saturday, 6:30-12Noon", "MO-FR 06:30-13:00; SA 06:30-12:00"),
    ("Monday-Friday, 8:30-5 p.m.", "MO-FR 08:30-17:00"),
    ("Monday-Thursday, 8-8 pmFriday, 8-5 pm", "MO-TH 08:00-20:00; FR 08:00-17:00"),
    ("Monday-Sunday, 10pm-4am", "MO-SU 22:00-04:00"),
    ("Tuesday - Thursday 12 - 6", "TU-TH 12:00-18:00"),
    ("Sunday, 3pm-4pm", "SU 15:00-16:00"),
    (
        "Monday-Friday, 9-9; Saturday, 9-1, Sunday 5pm-9pm",
        "MO-FR 09:00-21:00; SA 09:00-13:00; SU 17:00-21:00",
    ),
    ("Monday-Friday, 10-12:30, 1:30-4", "MO-FR 10:00-12:30, 13:30-16:00"),
    ("Monday, Tuesday, Thursday, Friday, 9-12 pm, 1:30-4:30 pm", "MO,TU,TH,FR 09:00-12:00, 13:30-16:30"),
    ("Monday-Friday, 7-7", "MO-FR 07:00-19:00"),
    ("Monday-Friday, 6-3", "MO-FR 06:00-15:00"),
    ("Monday-Friday, 1:50-6", "MO-FR 13:50-18:00"),
    ("Monday-Friday, 10AM-7PMSaturday, 10AM-2PM", "MO-FR 10:00-19:00; SA 10:00-14:00"),
    ("Monday-Saturday, 9AM-7PMSunday, 11AM-4PM", "MO-SA 09:00-19:00; SU 11:00-16:00"),
    (
        "Monday-Thursday, 9am-10pm; Friday, 9-6; Saturday-Sunday, 10-6",
        "MO-TH 09:00-22:00; FR 09:00-18:00; SA-SU 10:00-18:00",
    ),
    (
        "Monday-Tuesday, 9-5; Wednesday, 9-3; Thursday- Sunday, 9-5",
        "MO,TU,TH-SU 09:00-17:00; WE 09:00-15:00",
    ),
    ("Monday, Wednesday, Friday11AM-3PM", "MO,WE,FR 11:00-15:00"),
    (
        "Monday Tuesday, Wednesday, Friday, 8:30-5:30; Thursday, 10-5:30; Saturday, 9-3",
        "MO-WE,FR 08:30-17:30; TH 10:00-17:30; SA 09:00-15:00",
    ),
    ("Monday-Friday, 8:30-12, 1-5;Saturday, 9-4", "MO-FR 08:30-12:00, 13:00-17:00; SA 09:00-16:00"),
    (
        "Monday, 4-6;Tuesday, 4-8;Wednesday, 11:30-1:30;Thursday, 2-6",
        "MO 16:00-18:00; TU 16:00-20:00; WE 11:30-13:30; TH 14:00-18:00",
    ),
    ("Monday-Friday, 11-1", "MO-FR 11:00-13:00"),
    ("Monday-Friday, 4-8", "MO-FR 16:00-20:00"),
    (
        "Monday,Tuesday, Wednesday 8:45-5; Thursday 8-5;Friday 12:30-5",
        "MO-WE 08:45-17:00; TH 08:00-17:00; FR 12:30-17:00",
    ),
    ("Monday-Friday, 9AM-6pm and Saturday, 9AM-2PM", "MO-FR 09:00-18:00; SA 09:00-14:00"),
    (
        "Monday-Friday, 5:45am-9pm;Saturday, 7:30am-6:30pm;Sunday,8:30am-5:30pm",
        "MO-FR 05:45-21:00; SA 07:30-18:30; SU 08:30-17:30",
    ),
    (
        "Monday, 10-7; Tuesday, 2-3:30; Wednesday, 12:30-7; Thursday, 10-4:30; Friday, 10-7",
        "MO 10:00-19:00; TU 14:00-15:30; WE 12:30-19:00; TH 10:00-16:30; FR 10:00-19:00",
    ),
    ("Monday-Thursday, 12-8pm", "MO-TH 12:00-20:00"),
    (
        "Monday-Friday, 6am-10pm; Saturday, 7am-8pm; Sunday, 7am-6pm",
        "MO-FR 06:00-22:00; SA 07:00-20:00; SU 07:00-18:00",
    ),
    ("Tuesday, 11:30-12:30; last Saturday of each month, 11:30-3", "TU 11:30-12:30; -1SA 11:30-15:00"),
    # 211 Miami
    ("5:00pm-6:00pm, Wed", "WE 17:00-18:00"),
    (r"12:00pm-9:00pm, Mon-Fri\n12:00pm-5:00pm, Sat", "MO-FR 12:00-21:00; SA 12:00-17:00"),
    (r"8:00am-5:00pm, Mon-Thur;\n8:00am-4:00pm, Fri", "MO-TH 08:00-17:00; FR 08:00-16:00"),
    (
        r"3:30pm-6:30pm, Mon, Tue, Thur, Fri; \n2:30pm-5:30pm, Wed",
        "MO,TU,TH,FR 15:30-18:30; WE 14:30-17:30",
    ),
    (
        r"9:30am-4:00pm, Tue;\n9:30am-1:30pm, Wed, Thur;\n10:00am-2:00pm, Sat",
        "TU 09:30-16:00; WE,TH 09:30-13:30; SA 10:00-14:00",
    ),
    (r"9:00am-5:00pm, Mon-Fri;\n10:00am-2:00pm, Sat", "MO-FR 09:00-17:00; SA 10:00-14:00"),
    (
        r"9:00am-9:00pm, Mon, Thur\n8:00am-5:00pm, Tues\n8:00am-8:00pm, Wed\n8:00am-4:00pm, Fri",
        "MO,TH 09:00-21:00; TU 08:00-17:00; WE 08:00-20:00; FR 08:00-16:00",
    ),
    ("10:00am-11:30am, Wed", "WE 10:00-11:30"),
    ("7:30pm-8:45pm, Fri", "FR 19:30-20:45"),
    ("9:00am-12:00pm / 1:00pm-6:00pm, Mon, Tue, Thur", "MO,TU,TH 09:00-12:00, 13:00-18:00"),
    ("8:00-4:00pm, Mon-Fri", "MO-FR 08:00-16:00"),
    ("9:00am-5:00, Mon-Fri", "MO-FR 09:00-17:00"),
    ("8:20am-3:05pm, Mon-Fri", "MO-FR 08:20-15:05"),
    (
        r"9:00am-9:00pm, Mon;\n8:00am-5:00pm, Tue;\n8:00am-8:00pm, Wed;\n9:00am-9:00pm, Thur;"
        r"\n8:00am-4:00pm, Fri",
        "MO,TH 09:00-21:00; TU 08:00-17:00; WE 08:00-20:00; FR 08:00-16:00",
    ),
    (
        r"8:00am-3:00pm, Tue;\n10:00am-6:00pm, Wed;\n9:00am-4:00pm, Fri;\n7:00am-3:00pm, Sat",
        "TU 08:00-15:00; WE 10:00-18:00; FR 09:00-16:00; SA 07:00-15:00",
    ),
    (
        r"10:00am-4:00pm, Mon;\n11:00am-2:00pm, Wed\n10:00am-4:00pm, Fri",
        "MO,FR 10:00-16:00; WE 11:00-14:00",
    ),
    (
        r"10:00am-6:00pm, Mon, Wed;\n10:00am-7:00pm, Thur;\n9:00am-4:00pm, Sat",
        "MO,WE 10:00-18:00; TH 10:00-19:00; SA 09:00-16:00",
    ),
    ("10:30am-11:30am, Mon, Thur", "MO,TH 10:30-11:30"),
    ("9:00am-7:00pm, Mon-Fri", "MO-FR 09:00-19:00"),
    ("2:30pm-6:30pm, Mon-Fri", "MO-FR 14:30-18:30"),
    ("3:55pm-6:25pm, Mon-Fri", "MO-FR 15:55-18:25"),
    # not understood: a label, a condition, a date, a lone time, a typo, or two readings of a bare time
    (r"9:00am-9:00pm, Tue, Wed, Thur;\n9:00am-5:00pm, Sat\n\nBy appointment only", None),
    (r"Administrative: \n8:00am-5:00pm, Mon-Fri", None),
    (r"8:00am-4:30pm, Mon-Fri\n\nWalk-In:\nBefore 2:30pm, Mon-Thur;\nBefore 12:00pm, Fri", None),
    (r"Food Pantry & Meals:\nDepends on availability\n\nDelivered Meals:\n10:00am-1:00pm, Sat", None),
    (r"English:\n6:00pm-7:00pm, Wed\n\nSpanish:\n5:00pm-6:00pm, Wed", None),
    (r"Administrative Hours: \n8:30am-5:00pm, Mon-Fri\n\nFood Pantry: \n9:30am, Sat", None),
    (r"7:00pm, Wed, Fri;\n11:00am, Sun", None),
    ("2:00pm 6:00pm, Mon-Fri", None),
    ("9:00a-5:00pm, Mon-Fri", None),
    ("9:0am-3:00pm, Mon-Fri", None),
    ("Saturday, April 28, 12 pm-1:30 pm", None),
    ("Hours vary; call or see website for meeting schedule", None),
    ("Monday-Friday, 9-5; Saturday and Sunday by appointment", None),
    ("Monday-Friday, 9-6 (Church Office); Thursday, 12-1 (Lunch)", None),
    ("2/22/2008 to 4/11/2008Wednesday and Thursday, 6-8Friday, 1-3", None),
    ("24-hour website", None),
    ("6/22/06 to 7/26/06Lunch: 11:45-1:00No Snack", None),
    ("Saturday 2/2, 2/9, 2/23 and 3/1, 9-2", None),
    ("Monday - Thursday 8-9, Friday 8-6 ,Saturday, 8:30-5 Sunday, 9-5", None),
    ("Monday-Friday, 9-9:30; Saturday, 9-5, Sunday, 1-9", None),
    (
        "Wednesday, 9pm (Pantry); Sunday, 12:30pm (Pantry); lst Saturday, each month, 12 noon  (Hot lunch)",
        None,
    ),
    ("By appointment only", None),
    ("Varies", None),
    (
        "Tuesday, 2-4; 2nd and 3rd Wednesday of each month, 6-7:30; "
        "2nd and 4th Saturday of each month, 5:30-7",
        None,
    ),
    ("Monday-Friday, 7-8:40 and 2:40-6", None),
    ("Monday-Wednesday and Thursday - 9:30-4Wednesday and Friday - Closed", None),
    ("Tuesday-Saturday,", None),
    ("24-hour voice mail", None),
    (
        "Monday-Friday, 8-5; closed first and third Friday of each month through June, 2010 in accordance "
        "with Governor's ordered furlough",
        None,
    ),
    ("Monday-Friday, 10-4No walk-in service", None),
    ("Evenings, hours vary", None),
    ("Vary", None),
    ("Monday-Friday, 9am-8pm, after hours by appointment", None),
    ("Saturday, September 25, 2010 11am-3pm", None),
    ("Monday-Friday, 9-5 (Office); Monday- Friday, 8:30pm-10pm (Programs)", None),
]


def expected_slots(text: str | None) -> set[tuple[str, time, time]] | None:
    """The hand-written notation as (byday, opens, closes) triples."""
    if text is None:
        return None
    slots = set()
    for group in text.split("; "):
        days_part, spans_part = group.split(" ", 1)
        days = []
        for item in days_part.split(","):
            if "-" in item and not item.startswith("-"):
                first, last = item.split("-")
                days.extend(WEEK[WEEK.index(first) : WEEK.index(last) + 1])
            else:
                days.append(item)
        for span in spans_part.split(", "):
            opens, closes = (time(*map(int, t.split(":"))) for t in span.split("-"))
            slots.update((day, opens, closes) for day in days)
    return slots


def read_slots(text: str) -> set[tuple[str, time, time]] | None:
    schedules = read_hours(text)
    return None if schedules is None else {(s.byday, s.opens_at, s.closes_at) for s in schedules}


def test_the_table_has_a_hundred_real_strings_read_or_kept():
    assert len(CASES) >= 100
    assert len({text for text, _ in CASES}) == len(CASES)
    assert sum(expected is None for _, expected in CASES) >= 30


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_each_real_string_is_read_exactly_or_not_understood(text, expected):
    assert read_slots(text) == expected_slots(expected)


def _hours_column_values() -> set[str]:
    values = set()
    with open(DATA / "hsds1_211miami" / "data" / "regular_schedules.csv", encoding="utf-8", newline="") as fh:
        values.update(row["original_text"] for row in csv.DictReader(fh))
    raw = (DATA / "icarol_211_sf" / "211_sf_only.csv").read_bytes().decode("cp1252", errors="replace")
    for row in csv.DictReader(io.StringIO(raw, newline="")):
        values.update(row.get(name) or "" for name in ("HoursOfOperation", "Hours"))
    return values


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is absent (a fresh clone has no real files)")
def test_the_table_strings_are_verbatim_from_the_real_files():
    values = _hours_column_values()
    missing = [text for text, _ in CASES if text not in values]
    assert missing == []


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is absent (a fresh clone has no real files)")
def test_every_real_string_is_read_or_kept_and_a_read_one_reads_back_the_same():
    """Over every distinct hours string of the two files: nothing is dropped silently, and what is read
    is said again in a form that reads back to the same openings (nothing lost between the two)."""
    read = kept = 0
    for text in _hours_column_values():
        schedules, hours_text, note = hours_of(text)
        if not text.strip():
            assert (schedules, hours_text) == ((), None)
        elif schedules:
            read += 1
            assert hours_text is None and note is None
            again = read_hours(format_hours(schedules))
            assert {(s.byday, s.opens_at, s.closes_at) for s in again} == {
                (s.byday, s.opens_at, s.closes_at) for s in schedules
            }
        else:
            kept += 1
            assert hours_text == text.strip()[:1000] and "not understood" in note
    assert read > 500 and kept > 200


def test_blank_hours_are_no_hours_and_not_a_problem():
    assert read_hours("") == [] and read_hours("   ") == [] and read_hours(None) == []
    assert hours_of(None) == ((), None, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Monday 17:00-1:00", "MO 17:00-01:00"),
        ("Mon-Fri – 9 am – 4 pm", "MO-FR 09:00-16:00"),
        ("Tuesday & Thursday 9am-1pm", "TU,TH 09:00-13:00"),
        ("2nd & 4th Tuesday 10am-2pm", "2TU,4TU 10:00-14:00"),
        ("Monday: 9:00-17:00", "MO 09:00-17:00"),
        ("Daily – 9 am to 8 pm", "MO-SU 09:00-20:00"),
        ("Mon, Wed & Fri 8am-noon", "MO,WE,FR 08:00-12:00"),
        ("Tues/Thurs 1pm-3pm", "TU,TH 13:00-15:00"),
        ("M-F 9am-5pm", "MO-FR 09:00-17:00"),
        ("Weekdays 8:30 a.m. - 4:30 p.m.", "MO-FR 08:30-16:30"),
        ("Sat/Sun 10am-2pm", "SA,SU 10:00-14:00"),
        ("Mon-Thu 8am-8pm; Fri 8am-5pm", "MO-TH 08:00-20:00; FR 08:00-17:00"),
        ("24/7", ALL_DAY),
        ("1st and 3rd Wednesday 6pm-8pm", "1WE,3WE 18:00-20:00"),
        ("last Friday 10:00-12:00", "-1FR 10:00-12:00"),
        ("Fri 8pm-midnight", "FR 20:00-00:00"),
        ("Monday-Friday 0900-1700", "MO-FR 09:00-17:00"),
        ("Mon 9am-5pm; Sun closed", "MO 09:00-17:00"),
        ("Sunday closed", None),  # only a closed day: nothing says when it is open
        ("9am-5pm", None),  # no day
        ("Monday 9", None),  # a lone time
        ("Monday 25:00-26:00", None),
        ("Monday 9:75-10:00", None),
        ("every other Tuesday 9am-1pm", None),
        ("Mon-Fri 9-5 except holidays", None),
    ],
)
def test_forms_the_issue_names(text, expected):
    assert read_slots(text) == expected_slots(expected)


_days = st.sampled_from(WEEK + tuple(f"{n}{d}" for n in ("1", "2", "3", "4", "5", "-1") for d in WEEK))
_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@given(st.lists(st.tuples(_days, _times, _times), min_size=1, max_size=12))
def test_a_schedule_said_as_text_reads_back_to_itself(slots):
    schedules = [ScheduleRecord(day, opens, closes) for day, opens, closes in slots]
    text = format_hours(schedules)
    again = read_hours(text)
    assert again is not None, text
    assert {(s.byday, s.opens_at, s.closes_at) for s in again} == set(slots)


@given(st.text(max_size=80))
def test_any_text_is_read_or_kept_never_an_exception(text):
    schedules, hours_text, note = hours_of(text)
    assert bool(schedules) + bool(hours_text) <= 1
    if text.strip() and not schedules:
        assert hours_text == text.strip()[:1000]
