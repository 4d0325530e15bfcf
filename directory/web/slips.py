"""The participant's slip, on paper and as a text message: what they need at the door, in their language.

A slip never says LEAD or diversion, never carries a confidential address, and gives every time in the
site's zone. Its fixed sentences come from the interface's catalogs (directory/translations); a language is
offered for slips once a reviewer has signed its catalog. Imported provider text (names, what to bring) stays
as the provider wrote it, marked as such on a slip in another language.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel import Locale, UnknownLocaleError

from .. import i18n
from ..domain.local_time import moment_text, plain
from ..words import N_, Words


def slip_words(code: str, catalogs: Path = i18n.TRANSLATIONS) -> dict:
    """The slip's fixed sentences in a language, from its catalog (the English source when it has none)."""
    _ = i18n.translations(code, catalogs).gettext
    return {
        "title": _("Your referral"),
        "address": _("Address"),
        "phone": _("Phone"),
        "hours": _("Hours"),
        "intake": _("Intake"),
        "curfew": _("Curfew"),
        "bring": _("What to bring"),
        "contact": _("Your contact"),
        "code": _("Reference"),
        "call_first": _("Call before you go"),
        "confidential": _("Call this number to arrange how to get there."),
        "open24": _("Open 24 hours"),
        "days": {
            "MO": _("Mon"),
            "TU": _("Tue"),
            "WE": _("Wed"),
            "TH": _("Thu"),
            "FR": _("Fri"),
            "SA": _("Sat"),
            "SU": _("Sun"),
        },
        "ordinals": {
            "1": _("1st"),
            "2": _("2nd"),
            "3": _("3rd"),
            "4": _("4th"),
            "5": _("5th"),
            "-1": _("last"),
        },
        "of_month": _("of the month"),
        "hours_as_written": _("Hours as the provider wrote them"),
        "hours_unknown": _("Hours unknown — call"),
        "held_until": _("A place is kept for you until"),
        "held_short": _("Held until"),
        "intake_closes": _("when intake closes"),
        "providers_words": _("In the provider's words"),
        "text_message": _("Text message"),
        "print": _("Print"),
        "service_page": _("Service page"),
    }


DAY_ORDER = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# GSM 7-bit basic characters: a text using only these fits 153 characters per part of a long message;
# any other character makes the whole message UCS-2, 67 characters per part.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
TWO_MESSAGES = {"gsm7": 2 * 153, "ucs2": 2 * 67}


@dataclass(frozen=True)
class SlipLanguage:
    """The language a slip is printed in, and what the case manager is told when it is not the one asked."""

    code: str
    notice: Words | None = None  # shown in the reader's language (web.errors.shown)


def slip_language(asked: str | None, site_language: str, catalogs: Path = i18n.TRANSLATIONS) -> SlipLanguage:
    """The slip's language: the one asked for if its catalog is reviewed, else the site's, with a notice."""
    code = asked or site_language
    if i18n.slip_ready(code, catalogs):
        return SlipLanguage(code)
    fallback = site_language if i18n.slip_ready(site_language, catalogs) else i18n.SOURCE_LANGUAGE
    return SlipLanguage(
        fallback,
        Words(
            N_("No %(language)s slip yet: printing in %(fallback)s."),
            language=LanguageName(code),
            fallback=LanguageName(fallback),
        ),
    )


class LanguageName:
    """A language's name in the reader's language when the sentence is read ("Somali", "somalí")."""

    def __init__(self, code: str):
        self.code = code

    def render(self, gettext=None, locale: str | None = None) -> str:
        """The name in `locale` (English without one); an unknown code as given (at most 20 characters)."""
        try:
            return Locale.parse(self.code).get_display_name(locale or "en") or self.code
        except (UnknownLocaleError, ValueError):
            return self.code[:20]


def slip_choices(languages: tuple[str, ...], catalogs: Path = i18n.TRANSLATIONS) -> list[dict]:
    """The slip languages the site lists, each named in itself, and whether its reviewed catalog exists."""
    choices = []
    for code in languages:
        try:
            label = Locale.parse(code).get_display_name(code) or code
        except (UnknownLocaleError, ValueError):
            label = code
        ready = i18n.slip_ready(code, catalogs)
        choices.append({"code": code, "label": label[:1].upper() + label[1:], "ready": ready})
    return choices


def hours_lines(schedule: list[dict], words: dict) -> list[str]:
    """Hours as few lines as they read: days with the same weekly hours together ("Mon–Fri 09:00–17:00"),
    "Open 24 hours" once when every day is, then each monthly opening ("1st Wed of the month 18:00–20:00")."""
    by_day: dict[str, list[str]] = {}
    for slot in schedule:
        whole_day = slot["opens_at"] == slot["closes_at"] == "00:00"
        by_day.setdefault(slot["byday"], []).append(
            words["open24"] if whole_day else f"{slot['opens_at']}–{slot['closes_at']}"
        )
    weekly = {day: hours for day, hours in by_day.items() if len(day) == 2}
    monthly = [
        f"{words['ordinals'][day[:-2]]} {words['days'][day[-2:]]} {words['of_month']} {', '.join(hours)}"
        for day, hours in sorted(by_day.items(), key=lambda item: (DAY_ORDER.index(item[0][-2:]), item[0]))
        if len(day) > 2
    ]
    if len(weekly) == 7 and all(hours == [words["open24"]] for hours in weekly.values()):
        return [words["open24"], *monthly]
    lines: list[tuple[list[str], str]] = []
    for day in DAY_ORDER:
        if day not in weekly:
            continue
        hours = ", ".join(weekly[day])
        previous = lines[-1] if lines else None
        adjacent = previous and DAY_ORDER.index(previous[0][-1]) == DAY_ORDER.index(day) - 1
        if previous and adjacent and previous[1] == hours:
            previous[0].append(day)
        else:
            lines.append(([day], hours))
    out = []
    for days, hours in lines:
        label = words["days"][days[0]] + (f"–{words['days'][days[-1]]}" if len(days) > 1 else "")
        out.append(f"{label} {hours}")
    return out + monthly


def text_message(
    data: dict, expires_at, zone: str, words: dict, locale: str, intake_closes: bool = False
) -> str:
    """The slip's essentials as a text message (name, phone, address, hours, hold) within two messages."""
    location = data.get("location") or {}
    phone = ", ".join(p["number"] for p in data.get("phones") or [])
    lines = [data["name"]]
    if phone:
        lines.append(f"{words['phone']}: {phone}")
    if location.get("confidential"):
        lines.append(words["confidential"])
    elif location.get("address"):
        lines.append(location["address"])
    if expires_at is not None:
        until = plain(moment_text(expires_at, zone, locale))
        if intake_closes:
            until += f", {words['intake_closes']}"
        lines.append(f"{words['held_short']}: {until}")
    hours = hours_lines(data.get("schedule") or [], words)
    if hours:
        lines.append(f"{words['hours']}: " + "; ".join(hours))
    return _within_two_messages(lines)


def _within_two_messages(lines: list[str]) -> str:
    """Drop the last (least needed) lines, then shorten the name, until the text fits two messages."""
    while True:
        text = "\n".join(lines)
        limit = TWO_MESSAGES["gsm7" if set(text) <= GSM7 else "ucs2"]
        if len(text) <= limit:
            return text
        if len(lines) > 3:  # name, phone and address stay as long as anything else can go
            lines = lines[:-1]
            continue
        # Three dots are GSM 7-bit (an ellipsis is not); the phone and the address are never cut.
        room = limit - len("\n".join(lines[1:])) - 1 - 3
        if room < 10:
            return text[: limit - 3] + "..."
        lines = [lines[0][:room].rstrip() + "...", *lines[1:]]
