"""Times as people read them: in the site's time zone and the reader's language (Babel's CLDR forms).

Stored times and the API stay UTC (ISO 8601); a page, a slip, a notice or a text message says "Wed, Dec 2,
2:44 PM" in the site's zone, and "mié, 2 de dic, 2:44 p.m." for a US Spanish reader.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time, format_timedelta, get_datetime_format

DEFAULT_LOCALE = "en_US"


@lru_cache(maxsize=64)
def reader_locale(language: str | None, region: str = "US") -> str:
    """The Babel locale for a reader's language at a site in `region` ("es" in the US: es_US)."""
    if not language:
        return DEFAULT_LOCALE
    for candidate in (f"{language}_{region}", language):
        try:
            Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
        return candidate
    return DEFAULT_LOCALE


def moment_text(moment: datetime, zone: str, locale: str = DEFAULT_LOCALE) -> str:
    """A moment as the reader says it: weekday, day and month, and the time ("Wed, Dec 2, 2:44 PM")."""
    tz = ZoneInfo(zone)
    day = format_skeleton("MMMEd", moment, tzinfo=tz, locale=locale)
    clock = format_time(moment, "short", tzinfo=tz, locale=locale)
    return get_datetime_format("medium", locale=locale).replace("{1}", day).replace("{0}", clock)


def day_text(moment: datetime, zone: str, locale: str = DEFAULT_LOCALE) -> str:
    """The site's day of a moment ("Wed, Dec 2")."""
    return format_skeleton("MMMEd", moment, tzinfo=ZoneInfo(zone), locale=locale)


def relative_text(moment: datetime, now: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """How far a moment is from now, in words ("in 2 hours", "3 hours ago")."""
    return format_timedelta(moment - now, add_direction=True, locale=locale)


def plain(text: str) -> str:
    """Text with CLDR's narrow and no-break spaces made plain spaces (for a text message)."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


class Moment:
    """A moment to be said in the reader's language when a sentence is read (a notice's recipient)."""

    def __init__(self, moment: datetime, zone: str):
        self.moment, self.zone = moment, zone

    def render(self, gettext=None, locale: str | None = None) -> str:
        """The moment as `moment_text` says it, for a reader of `locale`'s language (else the default)."""
        return plain(moment_text(self.moment, self.zone, reader_locale(locale)))

    def __str__(self) -> str:
        return self.render()
