"""What a new referral to a service gets, and why, in one sentence (derived from the classification).

The classification (capacity.classify) decides; this only says it, so that a case manager does not have to
reconcile "1 of 56 available" with "2 of 4 LEAD-funded free", or "20 of 22 free" with "would delay 25".
Plain Python: no web framework.
"""

from __future__ import annotations

from . import capacity as cap

UNIT_WORDS = {
    "shelter_bed": ("shelter bed", "shelter beds"),
    "bed": ("bed", "beds"),
    "unit": ("housing unit", "housing units"),
    "slot": ("slot", "slots"),
    "appointment": ("appointment", "appointments"),
}


def _people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def _unverified_why(numbers: cap.Numbers) -> str:
    if numbers.confirmed_at is None or numbers.available is None:
        return "the provider has never confirmed them"
    if numbers.waitlist is None:
        return "nobody knows how many are waiting"
    return "they are out of date"


def referral_outlook(
    classification: str, numbers: cap.Numbers | None, counts: bool = True, lead_counts: bool = True
) -> str:
    """One sentence: what a new referral gets now and why. `counts`/`lead_counts`: whether this reader may
    see the general / LEAD-funded figures (the public, unless the site opts in, reads the sentence
    without them)."""
    if classification == cap.OPEN_ACCESS or numbers is None:
        return "Open access: a new referral holds nothing, as this service does not count places; just go."
    one, many = UNIT_WORDS.get(numbers.unit, ("place", "places"))
    if classification == cap.UNVERIFIED:
        return (
            f"A new referral goes as a request and holds nothing: the numbers are unverified "
            f"({_unverified_why(numbers)}), so call first."
        )
    if classification == cap.LEAD_FUNDED:
        figures = f" ({numbers.lead_free} of {numbers.lead_funded_maximum} free)" if lead_counts else ""
        return f"A new referral gets a LEAD-funded {one}{figures}: an addition, so nobody waiting is passed."
    if classification == cap.COORDINATED_ENTRY:
        return (
            f"A new referral goes as a request to the coordinated-entry list: its {many} are filled only "
            f"from that list, so nothing is held."
        )
    if classification == cap.SPARE_CAPACITY:
        figures = f" ({numbers.spare} spare)" if counts else ""
        return f"A new referral gets a spare {one}{figures}: nobody on the waitlist is passed."
    if classification == cap.DISPLACEMENT:
        if not counts:
            return "Placing someone now would delay the people waiting: a new referral joins the waitlist."
        free = numbers.physically_free or 0
        if free == 1:
            why = f"the 1 free {one} is theirs"
        else:
            why = f"the {free} free {many} are theirs" if free > 0 else f"no {one} is free"
        waiting = _people(cap.would_displace(classification, numbers))
        return f"Placing someone now would delay {waiting} waiting: {why}. A new referral joins the waitlist."
    return f"No {one} is free and nobody is waiting: a new referral joins the waitlist."
