"""What a search result says at a glance: the status in words with its age, open now / closes / opens, and
the number to call. Presentation only; the rules live in directory/domain."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from babel.dates import format_skeleton, get_day_names
from flask_babel import gettext, ngettext

from ..domain import capacity as cap
from ..domain.clock import SiteClock
from ..domain.hours import day_codes, hours_unknown, is_open
from ..domain.outlook import UNIT_WORDS
from ..words import N_
from . import serializers


def status_words(service, status: str, data: dict, units: dict[str, tuple[str, str]], age: str) -> str:
    """The status in words a case manager acts on, with the age of the numbers: counts where this viewer
    may see them (the serializer has already nulled the rest), else the status word (in the page's
    language: the kinds of unit the catalog knows are translated, a site's own kind is shown as written)."""
    label = gettext(serializers.STATUS_LABELS[status])
    capacity = data.get("capacity")
    if capacity is None:
        return label
    free, waitlist = capacity.get("available"), capacity.get("waitlist")
    unit = capacity.get("unit") or ""

    def unit_name(number: int) -> str:
        if unit in UNIT_WORDS:
            one, many = UNIT_WORDS[unit]
            return gettext(one if number == 1 else many)
        singular, plural = units.get(unit, (gettext("place"), gettext("places")))
        return (singular if number == 1 else plural).lower()

    def counted(number: int) -> str:
        return ngettext("%(num)d %(unit)s free", "%(num)d %(unit)s free", number, unit=unit_name(number))

    def waiting(number: int) -> str:
        return ngettext("%(num)d waiting", "%(num)d waiting", number)

    lead_free = capacity.get("lead_funded_available")
    if status == cap.LEAD_FUNDED and lead_free is not None:
        words = ngettext(
            "%(num)d LEAD-funded %(unit)s free",
            "%(num)d LEAD-funded %(unit)s free",
            lead_free,
            unit=unit_name(lead_free),
        )
    elif status == cap.SPARE_CAPACITY and free is not None:
        words = counted(free)
    elif status == cap.DISPLACEMENT and free is not None:
        words = f"{label} · {counted(free)}" + (f", {waiting(waitlist)}" if waitlist else "")
    elif status == cap.FULL and waitlist:
        words = f"{label} · {waiting(waitlist)}"
    else:
        words = label
    return f"{words}, {age}"


def _next_opening(schedules, local: datetime) -> tuple[date, time] | None:
    """(day, opening time) of the next opening after the local moment, weekly and monthly alike, looking
    ahead five weeks (a monthly opening comes round within them), or None."""
    now = local.time().replace(tzinfo=None)
    for ahead in range(36):
        day = local.date() + timedelta(days=ahead)
        codes = day_codes(day)
        times = [s.opens_at for s in schedules if s.byday in codes and (ahead or s.opens_at > now)]
        if times:
            return day, min(times)
    return None


def _closing(schedules, local: datetime) -> time | None:
    """When the opening that covers the local moment ends (the latest such closing)."""
    today, t = day_codes(local.date()), local.time().replace(tzinfo=None)
    yesterday = day_codes(local.date() - timedelta(days=1))
    closes = []
    for s in schedules:
        overnight = s.closes_at <= s.opens_at
        if (s.byday in today and s.opens_at <= t and (overnight or t < s.closes_at)) or (
            s.byday in yesterday and overnight and t < s.closes_at
        ):
            closes.append(s.closes_at)
    return max(closes) if closes else None


def hours_words(service, now: datetime, time_zone: str, locale: str = "en_US") -> str:
    """ "Open now · closes 17:00", "Closed · opens 08:00", "Closed · opens Tue 08:00", "Hours unknown — call"
    (hours kept as the provider wrote them), or "" without hours; in the page's language (day and month
    names from Babel for `locale`; times on the 24-hour clock, as the service page's table gives them)."""
    if hours_unknown(service):
        return gettext("Hours unknown — call")
    schedules = service.schedules
    if not schedules:
        return ""
    local = SiteClock(time_zone).local(now)
    if is_open(schedules, now, time_zone):
        closes = _closing(schedules, local)
        if closes is None:
            return gettext("Open now")
        return gettext("Open now · closes %(time)s", time=closes.strftime("%H:%M"))
    upcoming = _next_opening(schedules, local)
    if upcoming is None:
        return gettext("Closed now")
    day, opens = upcoming
    clock = f"{opens:%H:%M}"
    ahead = (day - local.date()).days
    if ahead == 0:
        return gettext("Closed · opens %(time)s", time=clock)
    if ahead == 1:
        return gettext("Closed · opens tomorrow %(time)s", time=clock)
    if ahead < 7:
        name = get_day_names("abbreviated", locale=locale)[day.weekday()]
        return gettext("Closed · opens %(day)s %(time)s", day=name, time=clock)
    return gettext(
        "Closed · opens %(day)s %(time)s", day=format_skeleton("MMMEd", day, locale=locale), time=clock
    )


def freshness_marks(service, data: dict, freshness_hours) -> tuple[str | None, str | None]:
    """(confirmed at, fresh until) in ISO UTC, for a page read later offline: past the second, the numbers
    are stale (static/js/offline.js then says "Call — numbers from 14 h ago", never "Free"). Both None
    when the viewer is not given the confirmation time or the service has no tracked capacity."""
    confirmed = (data.get("capacity") or {}).get("confirmed_at")
    if not confirmed or service.capacity is None or service.capacity.confirmed_at is None:
        return None, None
    numbers = cap.Numbers.of(service.capacity)
    until = service.capacity.confirmed_at + cap.window(numbers.unit, freshness_hours)
    return confirmed, serializers.iso(until)


def tel_link(phones) -> tuple[str, str] | None:
    """(tel: URL, number as written) of the service's first phone that takes calls, or None."""
    for phone in sorted(phones, key=lambda p: p.id):
        if (phone.type or "voice") in ("fax", "pager", "text"):
            continue
        digits = "".join(ch for ch in phone.number if ch.isdigit() or ch == "+")
        if len(digits.lstrip("+")) < 3:
            continue
        extension = "".join(ch for ch in (phone.extension or "") if ch.isdigit())
        return f"tel:{digits}{',' + extension if extension else ''}", phone.number
    return None


def search_summary(query, reference, distance_text) -> str:
    """The search on one line, for the folded form on a phone: "methadone · Housing · within 6.2 mi of X"
    (the app's own words in the page's language; the site's names as written)."""
    from .labels import label

    parts = []
    if query.q:
        parts.append(f"“{query.q}”")
    if query.category:
        parts.append(gettext(reference.term_names.get(query.category, query.category)))
    if query.medication:
        parts.append(query.medication)
    if query.language:
        parts.append(label(query.language, "language"))
        if query.language_access == "staff":
            parts.append(gettext("Staff speak it"))
    if query.population:
        parts.append(label(query.population, "population"))
    for name, words in (
        ("low_barrier", N_("low barrier")),
        ("housing_first", N_("Housing First")),
        ("open_now", N_("open now")),
    ):
        if getattr(query, name):
            parts.append(gettext(words))
    if query.availability:
        parts.append(gettext(AVAILABILITY_WORDS[query.availability]))
    if query.center is not None:
        parts.append(
            gettext(
                "within %(distance)s of %(place)s",
                distance=distance_text(query.radius_km),
                place=query.center.label,
            )
        )
    return " · ".join(parts) or gettext("All services")


AVAILABILITY_WORDS = {
    "open": N_("free now"),
    "spare": N_("spare capacity"),
    "lead_funded": N_("LEAD-funded free"),
}
