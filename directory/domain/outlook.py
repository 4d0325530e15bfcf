"""What a new referral to a service gets, and why, in one sentence (derived from the classification).

The classification (capacity.classify) decides; this only says it, so that a case manager does not have to
reconcile "1 of 56 available" with "2 of 4 LEAD-funded free", or "20 of 22 free" with "would delay 25".
Plain Python: no web framework. The sentence is `Words` (marked with N_, with its parameters), so the web
layer reads it in the page's language; as a str it is the English.
"""

from __future__ import annotations

from ..words import N_, Words
from . import capacity as cap

UNIT_WORDS = {
    "shelter_bed": (N_("shelter bed"), N_("shelter beds")),
    "bed": (N_("bed"), N_("beds")),
    "unit": (N_("housing unit"), N_("housing units")),
    "slot": (N_("slot"), N_("slots")),
    "appointment": (N_("appointment"), N_("appointments")),
}
PLACE_WORDS = (N_("place"), N_("places"))


def _people(count: int) -> Words:
    return Words(N_("1 person")) if count == 1 else Words(N_("%(count)d people"), count=count)


def _unverified_why(numbers: cap.Numbers) -> Words:
    if numbers.confirmed_at is None or numbers.available is None:
        return Words(N_("the provider has never confirmed them"))
    if numbers.waitlist is None:
        return Words(N_("nobody knows how many are waiting"))
    return Words(N_("they are out of date"))


def referral_outlook_words(
    classification: str, numbers: cap.Numbers | None, counts: bool = True, lead_counts: bool = True
) -> Words:
    """One sentence, as marked words and their parameters: what a new referral gets now and why.
    `counts`/`lead_counts`: whether this reader may see the general / LEAD-funded figures (the public,
    unless the site opts in, reads the sentence without them)."""
    if classification == cap.OPEN_ACCESS or numbers is None:
        return Words(
            N_("Open access: a new referral holds nothing, as this service does not count places; just go.")
        )
    one, many = UNIT_WORDS.get(numbers.unit, PLACE_WORDS)
    units = {"unit": Words(one), "units": Words(many)}
    if classification == cap.UNVERIFIED:
        return Words(
            N_(
                "A new referral goes as a request and holds nothing: the numbers are unverified (%(why)s), "
                "so call first."
            ),
            why=_unverified_why(numbers),
        )
    if classification == cap.LEAD_FUNDED:
        if lead_counts:
            return Words(
                N_(
                    "A new referral gets a LEAD-funded %(unit)s (%(free)d of %(total)d free): "
                    "an addition, so nobody waiting is passed."
                ),
                **units,
                free=numbers.lead_free,
                total=numbers.lead_funded_maximum,
            )
        return Words(
            N_("A new referral gets a LEAD-funded %(unit)s: an addition, so nobody waiting is passed."),
            **units,
        )
    if classification == cap.COORDINATED_ENTRY:
        return Words(
            N_(
                "A new referral goes as a request to the coordinated-entry list: "
                "its %(units)s are filled only from that list, so nothing is held."
            ),
            **units,
        )
    if classification == cap.SPARE_CAPACITY:
        if counts:
            return Words(
                N_(
                    "A new referral gets a spare %(unit)s (%(spare)d spare): "
                    "nobody on the waitlist is passed."
                ),
                **units,
                spare=numbers.spare,
            )
        return Words(N_("A new referral gets a spare %(unit)s: nobody on the waitlist is passed."), **units)
    if classification == cap.DISPLACEMENT:
        if not counts:
            return Words(
                N_("Placing someone now would delay the people waiting: a new referral joins the waitlist.")
            )
        free = numbers.physically_free or 0
        if free == 1:
            why = Words(N_("the 1 free %(unit)s is theirs"), **units)
        elif free > 0:
            why = Words(N_("the %(free)d free %(units)s are theirs"), **units, free=free)
        else:
            why = Words(N_("no %(unit)s is free"), **units)
        waiting = _people(cap.would_displace(classification, numbers))
        return Words(
            N_(
                "Placing someone now would delay %(waiting)s waiting: %(why)s. "
                "A new referral joins the waitlist."
            ),
            waiting=waiting,
            why=why,
        )
    return Words(N_("No %(unit)s is free and nobody is waiting: a new referral joins the waitlist."), **units)


def referral_outlook(
    classification: str, numbers: cap.Numbers | None, counts: bool = True, lead_counts: bool = True
) -> str:
    """The sentence of `referral_outlook_words` in English (the source words)."""
    return str(referral_outlook_words(classification, numbers, counts, lead_counts))
