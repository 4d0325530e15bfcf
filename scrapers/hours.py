"""One reader of opening hours for every importer: the whole string is read exactly, or it is not understood.

"Never a guess": every day, ordinal and time token must be consumed by the reading; a word the reader does
not know ("by appointment", "Clinic:", a date, "before 2pm") makes the whole string "not understood", and the
caller keeps it as the provider wrote it. Weekly openings are HSDS weekday codes (`MO`); monthly ones are
HSDS 3 ordinal weekday codes (`1WE` first Wednesday, `-1FR` last Friday). closes_at <= opens_at means the
opening closes the next day (00:00-00:00 is open all day).

Times without am/pm ("9-5") are read only when exactly one daytime reading exists: each bare hour may be
morning or afternoon, the span must close after it opens on the same day, and bare hours must fall between
06:00 and 23:00 ("9-5" is 09:00-17:00, "2-4" is 14:00-16:00; "6-8" or "9-9:30" have two readings: not
understood). A time written in 24-hour form (`17:00`, `09:00`, `2100`) makes the whole span literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from itertools import product

from .common import plain
from .records import ScheduleRecord

HOURS_TEXT_LIMIT = 1000  # the schema's limit for hours kept as the provider wrote them
KEPT_AS_TEXT = "kept as text"  # the problem's action when hours are not understood

WEEK = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_WORDS = {
    "MO": ("mondays", "monday", "mon", "mo"),
    "TU": ("tuesdays", "tuesday", "tues", "tue", "tu"),
    "WE": ("wednesdays", "wednesday", "weds", "wed", "we"),
    "TH": ("thursdays", "thursday", "thurs", "thur", "thu", "th"),
    "FR": ("fridays", "friday", "fri", "fr"),
    "SA": ("saturdays", "saturday", "sat", "sa"),
    "SU": ("sundays", "sunday", "sun", "su"),
}
_DAY_OF = {word: code for code, words in DAY_WORDS.items() for word in words}
_DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday",
              "SA": "Saturday", "SU": "Sunday"}  # fmt: skip
ORDINALS = {"1st": 1, "first": 1, "2nd": 2, "second": 2, "3rd": 3, "third": 3, "4th": 4, "fourth": 4,
            "5th": 5, "fifth": 5, "last": -1}  # fmt: skip
_ORDINAL_WORDS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th", -1: "last"}
_DAY_SETS = {
    "daily": WEEK,
    "every day": WEEK,
    "everyday": WEEK,
    "7 days a week": WEEK,
    "seven days a week": WEEK,
    "7 days": WEEK,
    "weekdays": WEEK[:5],
    "weekends": WEEK[5:],
    "weekend": WEEK[5:],
    "m-f": WEEK[:5],
}
_DAY_ALTERNATIVES = sorted(_DAY_OF, key=len, reverse=True)
_SET_ALTERNATIVES = sorted(_DAY_SETS, key=len, reverse=True)

# Order matters: the first alternative that matches at a position wins.
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<allday>24\s*/\s*7|24[\s-]*(?:hours?|hrs?)(?:\s+a\s+day)?)
  | (?P<ordinal>(?:1st|2nd|3rd|4th|5th|first|second|third|fourth|fifth|last)\b)
  | (?P<monthly>of\s+(?:each|the|every)\s+month\b|each\s+month\b|every\s+month\b|monthly\b)
  | (?P<dayset>"""
    + "|".join(
        re.escape(word).replace(r"\ ", r"\s+").replace(r"\-", r"\s*-\s*") for word in _SET_ALTERNATIVES
    )
    + r""")\b
  | (?P<day>(?:"""
    + "|".join(_DAY_ALTERNATIVES)
    + r""")\.?)(?![a-z])
  | (?P<time>(?:12\s*)?noon\b|(?:12\s*)?midnight\b|\d{4}(?!\d)
      |\d{1,2}(?::\d{2})?(?:\s*[ap]m(?:(?![a-z])|(?=mon|tue|wed|thu|fri|sat|sun)))?)
  | (?P<range>-|to\b|through\b|until\b|till\b|til\b)
  | (?P<list>,|&|\+|/|and\b)
  | (?P<sep>;|\||:|\.)
  | (?P<closed>closed\b)
  | (?P<filler>from\b|open\b|hours\b|hrs\b|every\b|on\b)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Clock:
    """A time as written: hour, minute, am/pm or None, and whether it was written in 24-hour form."""

    hour: int
    minute: int
    meridiem: str | None
    literal: bool


class NotUnderstood(ValueError):
    """The string has a token the reader could not consume."""


def _normalize(text: str) -> str:
    text = text.replace("\\n", "\n").replace("\r", "\n").replace("\xa0", " ").lower()
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    # "a.m." / "p.m." / "a.m" / "am." are one meridiem; "9a"/"9p" stay unknown (rare, and "a" is a word).
    return re.sub(r"(?<=[\d\s])([ap])\.\s?m\.?", r"\1m", text)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise NotUnderstood(text[position : position + 20])
        kind = match.lastgroup or ""
        if kind not in ("space", "filler"):
            tokens.append((kind, match.group(0)))
        position = match.end()
    return tokens


def _clock(word: str) -> _Clock:
    word = re.sub(r"\s+", "", word)
    if word.endswith("noon"):
        return _Clock(12, 0, "pm", True)
    if word.endswith("midnight"):
        return _Clock(0, 0, "am", True)
    if re.fullmatch(r"\d{4}", word):
        hour, minute = int(word[:2]), int(word[2:])
        if hour > 24 or minute > 59 or (hour == 24 and minute):
            raise NotUnderstood(word)
        return _Clock(hour % 24, minute, None, True)
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?([ap]m)?", word)
    if not match:
        raise NotUnderstood(word)
    hour, minute, meridiem = int(match[1]), int(match[2] or 0), match[3]
    if minute > 59 or hour > 24 or (hour == 24 and minute) or (meridiem and not 1 <= hour <= 12):
        raise NotUnderstood(word)
    literal = not meridiem and (hour == 0 or hour >= 13 or match[1].startswith("0"))
    return _Clock(hour % 24, minute, meridiem, literal)


def _choices(clock: _Clock, literal: bool) -> list[int]:
    """The possible minutes after midnight of one written time."""
    if clock.meridiem:
        hour = clock.hour % 12 + (12 if clock.meridiem == "pm" else 0)
        return [hour * 60 + clock.minute]
    if literal or clock.hour == 12:
        return [clock.hour * 60 + clock.minute]
    return [clock.hour * 60 + clock.minute, (clock.hour + 12) * 60 + clock.minute]


def _span(opens: _Clock, closes: _Clock) -> tuple[time, time]:
    """One opening span; overnight only when written unambiguously (am/pm or 24-hour form)."""
    literal = opens.literal or closes.literal
    if literal or (opens.meridiem and closes.meridiem):
        pairs = [(_choices(opens, literal)[0], _choices(closes, literal)[0])]
    else:
        bare = [not (c.meridiem or literal) for c in (opens, closes)]
        pairs = [
            (o, c)
            for o, c in product(_choices(opens, literal), _choices(closes, literal))
            if c > o and all(not b or 6 * 60 <= m <= 23 * 60 for b, m in zip(bare, (o, c), strict=True))
        ]
    if len(pairs) != 1:
        raise NotUnderstood(f"{opens}-{closes}")
    o, c = pairs[0]
    return time(o // 60 % 24, o % 60), time(c // 60 % 24, c % 60)


def _day_range(first: str, last: str) -> tuple[str, ...]:
    start, end = WEEK.index(first), WEEK.index(last)
    return WEEK[start : end + 1] if start <= end else WEEK[start:] + WEEK[: end + 1]


def _items(tokens: list[tuple[str, str]]) -> list[tuple[str, object]]:
    """Days, spans, 'all day' and 'closed', each a (kind, value) item; separators as ('list'|'sep', None)."""
    items: list[tuple[str, object]] = []
    i = 0
    while i < len(tokens):
        kind, word = tokens[i]
        if kind == "day":
            first = _DAY_OF[word.rstrip(".")]
            if i + 2 < len(tokens) and tokens[i + 1][0] == "range" and tokens[i + 2][0] == "day":
                items.append(("days", _day_range(first, _DAY_OF[tokens[i + 2][1].rstrip(".")])))
                i += 3
                continue
            items.append(("days", (first,)))
        elif kind == "dayset":
            items.append(("days", _DAY_SETS[re.sub(r"\s*-\s*", "-", re.sub(r"\s+", " ", word))]))
        elif kind == "ordinal":
            i = _ordinal_days(tokens, i, items)
            continue
        elif kind == "time":
            if not (i + 2 < len(tokens) and tokens[i + 1][0] == "range" and tokens[i + 2][0] == "time"):
                raise NotUnderstood(word)  # a lone time ("9:30am, Sat") says when it starts, not when it ends
            items.append(("spans", (_span(_clock(word), _clock(tokens[i + 2][1])),)))
            i += 3
            continue
        elif kind in ("allday", "closed"):
            items.append((kind, None))
        elif kind == "monthly":
            raise NotUnderstood(word)
        else:  # a dash left between days and times is a separator ("Mon-Fri - 9 am - 4 pm")
            items.append(("list" if kind == "list" else "sep", None))
        i += 1
    return items


def _ordinal_days(tokens: list[tuple[str, str]], i: int, items: list) -> int:
    """`1st and 3rd Wednesday (of the month)` as ordinal weekday codes; returns the next token index."""
    ordinals = [ORDINALS[tokens[i][1]]]
    i += 1
    while i + 1 < len(tokens) and tokens[i][0] == "list" and tokens[i + 1][0] == "ordinal":
        ordinals.append(ORDINALS[tokens[i + 1][1]])
        i += 2
    if i >= len(tokens) or tokens[i][0] != "day":
        raise NotUnderstood("ordinal without a weekday")
    day = _DAY_OF[tokens[i][1].rstrip(".")]
    i += 1
    if i < len(tokens) and tokens[i][0] == "monthly":
        i += 1
    items.append(("days", tuple(f"{n}{day}" for n in ordinals)))
    return i


def _groups(items: list[tuple[str, object]]) -> list[tuple[str, tuple]]:
    """Consecutive days (or spans) joined by a list separator or nothing become one group."""
    groups: list[tuple[str, tuple]] = []
    joinable = False
    for kind, value in items:
        if kind in ("list", "sep"):
            joinable = joinable and kind == "list"
            continue
        if joinable and groups and groups[-1][0] == kind and kind in ("days", "spans"):
            groups[-1] = (kind, groups[-1][1] + value)  # type: ignore[operator]
        else:
            groups.append((kind, value if isinstance(value, tuple) else ()))
        joinable = True
    return groups


def _pairs(groups: list[tuple[str, tuple]]) -> list[tuple[tuple, str, tuple]]:
    """(days, 'spans'|'allday'|'closed', spans) for days-first or times-first writing, not a mix."""
    if groups == [("allday", ())]:
        return [(WEEK, "allday", ())]
    if len(groups) % 2 or not groups:
        raise NotUnderstood("days and times do not pair up")
    days_first = groups[0][0] == "days"
    pairs = []
    for index in range(0, len(groups), 2):
        days, when = (groups[index], groups[index + 1]) if days_first else (groups[index + 1], groups[index])
        if days[0] != "days" or when[0] == "days":
            raise NotUnderstood("days and times do not pair up")
        pairs.append((days[1], when[0], when[1]))
    return pairs


def read_hours(text: str | None, description: str | None = None) -> list[ScheduleRecord] | None:
    """The openings the text states, exactly; [] for blank text; None when the text is not understood."""
    if not text or not text.strip():
        return []
    try:
        pairs = _pairs(_groups(_items(_tokens(_normalize(text)))))
    except NotUnderstood:
        return None
    closed = {day for days, kind, _ in pairs if kind == "closed" for day in days}
    slots: dict[tuple[str, time, time], None] = {}
    for days, kind, spans in pairs:
        if kind == "closed":
            continue
        if closed & set(days):
            return None  # a day said to be both open and closed
        for day in days:
            for opens, closes in spans if kind == "spans" else ((time(0), time(0)),):
                slots[(day, opens, closes)] = None
    if not slots:
        return None  # only closed days: nothing says when it is open
    return [ScheduleRecord(day, opens, closes, description) for day, opens, closes in sort_slots(slots)]


def sort_slots(slots) -> list:
    """(byday, opens, closes) triples in week order, weekly before monthly, then by opening time."""
    return sorted(slots, key=lambda s: (WEEK.index(s[0][-2:]), len(s[0]), s[0], s[1], s[2]))


def day_words(byday: str) -> str:
    """`Wednesday`, `1st Wednesday`, `last Friday` for an HSDS weekday or ordinal weekday code."""
    name = _DAY_NAMES[byday[-2:]]
    if len(byday) == 2:
        return name
    return f"{_ORDINAL_WORDS[int(byday[:-2])]} {name} of the month"


def _clock_words(moment: time) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d}{'pm' if moment.hour >= 12 else 'am'}"


def format_hours(schedules) -> str:
    """Text `read_hours` reads back to the same schedules: `Monday 9:00am-5:00pm; 1st Wednesday ...`."""
    parts = []
    for byday, opens, closes in sort_slots((s.byday, s.opens_at, s.closes_at) for s in schedules):
        parts.append(f"{day_words(byday)} {_clock_words(opens)}-{_clock_words(closes)}")
    return "; ".join(parts)


def is_byday(value: str) -> bool:
    """Whether the value is a weekly (`MO`) or monthly ordinal (`1MO`..`5MO`, `-1MO`) HSDS weekday code."""
    return bool(re.fullmatch(r"(?:[1-5]|-1)?(?:MO|TU|WE|TH|FR|SA|SU)", value or ""))


def hours_of(value) -> tuple[tuple[ScheduleRecord, ...], str | None, str | None]:
    """(schedules, the text kept as the provider wrote it when not understood, the note for the record)."""
    text = "" if value is None else str(value)
    schedules = read_hours(text, plain(text, 300))
    if schedules is None:
        kept = text.strip()[:HOURS_TEXT_LIMIT]
        return (), kept, f"hours {plain(text, 80)!r} not understood: kept as the provider wrote them"
    return tuple(schedules), None, None
