"""What a new referral to a service gets, and why, in one sentence (derived from the classification).

The classification (capacity.classify) decides; this only says it, so that a case manager does not have to
reconcile "1 of 56 available" with "2 of 4 LEAD-funded free", or "20 of 22 free" with "would delay 25".
Plain Python: no web framework. The sentence is built as words marked with N_ and their parameters (a
`Phrase`), so the web layer says it in the page's language; `referral_outlook` says it in English.
"""

from __future__ import annotations

from ..words import N_, Phrase, say
from . import capacity as cap

UNIT_WORDS = {
    "shelter_bed": (N_("shelter bed"), N_("shelter beds")),
    "bed": (N_("bed"), N_("beds")),
    "unit": (N_("housing unit"), N_("housing units")),
    "slot": (N_("slot"), N_("slots")),
    "appointment": (N_("appointment"), N_("appointments")),
}
PLACE_WORDS = (N_("place"), N_("places"))


def _people(count: int) -> Phrase:
    return (N_("1 person"), {}) if count == 1 else (N_("%(count)d people"), {"count": count})


def _unverified_why(numbers: cap.Numbers) -> Phrase:
    if numbers.confirmed_at is None or numbers.available is None:
        return N_("the provider has never confirmed them"), {}
    if numbers.waitlist is None:
        return N_("nobody knows how many are waiting"), {}
    return N_("they are out of date"), {}


def referral_outlook_words(
    classification: str, numbers: cap.Numbers | None, counts: bool = True, lead_counts: bool = True
) -> Phrase:
    """One sentence, as marked words and their parameters: what a new referral gets now and why.
    `counts`/`lead_counts`: whether this reader may see the general / LEAD-funded figures (the public,
    unless the site opts in, reads the sentence without them)."""
    if classification == cap.OPEN_ACCESS or numbers is None:
        return N_(
            "Open access: a new referral holds nothing, as this service does not count places; just go."
        ), {}
    one, many = UNIT_WORDS.get(numbers.unit, PLACE_WORDS)
    units = {"unit": (one, {}), "units": (many, {})}
    if classification == cap.UNVERIFIED:
        return (
            N_(
                "A new referral goes as a request and holds nothing: the numbers are unverified (%(why)s), "
                "so call first."
            ),
            {"why": _unverified_why(numbers)},
        )
    if classification == cap.LEAD_FUNDED:
        if lead_counts:
            return (
                N_(
                    "A new referral gets a LEAD-funded %(unit)s (%(free)d of %(total)d free): "
                    "an addition, so nobody waiting is passed."
                ),
                {**units, "free": numbers.lead_free, "total": numbers.lead_funded_maximum},
            )
        return N_(
            "A new referral gets a LEAD-funded %(unit)s: an addition, so nobody waiting is passed."
        ), units
    if classification == cap.COORDINATED_ENTRY:
        return (
            N_(
                "A new referral goes as a request to the coordinated-entry list: "
                "its %(units)s are filled only from that list, so nothing is held."
            ),
            units,
        )
    if classification == cap.SPARE_CAPACITY:
        if counts:
            return (
                N_(
                    "A new referral gets a spare %(unit)s (%(spare)d spare): "
                    "nobody on the waitlist is passed."
                ),
                {**units, "spare": numbers.spare},
            )
        return N_("A new referral gets a spare %(unit)s: nobody on the waitlist is passed."), units
    if classification == cap.DISPLACEMENT:
        if not counts:
            return N_(
                "Placing someone now would delay the people waiting: a new referral joins the waitlist."
            ), {}
        free = numbers.physically_free or 0
        if free == 1:
            why: Phrase = (N_("the 1 free %(unit)s is theirs"), units)
        elif free > 0:
            why = (N_("the %(free)d free %(units)s are theirs"), {**units, "free": free})
        else:
            why = (N_("no %(unit)s is free"), units)
        waiting = _people(cap.would_displace(classification, numbers))
        return (
            N_(
                "Placing someone now would delay %(waiting)s waiting: %(why)s. "
                "A new referral joins the waitlist."
            ),
            {"waiting": waiting, "why": why},
        )
    return N_("No %(unit)s is free and nobody is waiting: a new referral joins the waitlist."), units


def referral_outlook(
    classification: str, numbers: cap.Numbers | None, counts: bool = True, lead_counts: bool = True
) -> str:
    """The sentence of `referral_outlook_words` in English (the source words)."""
    return say(referral_outlook_words(classification, numbers, counts, lead_counts))
