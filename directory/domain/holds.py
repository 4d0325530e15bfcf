"""What referrals do to a service's counts: claim and release side by side, as pure functions (domain.md).

A claim holds a unit (a LEAD-funded one first: they are the addition bought for participants), an override
holds a general unit only when one is physically free, joining the waitlist adds one to it. Releasing
(decline, cancel, expiry) gives back exactly what the claim took; accepting turns the hold into a placement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Counts:
    """The counts of a capacity row that referrals change."""

    available: int | None
    waitlist: int | None
    lead_funded_available: int
    held_general: int
    held_lead: int

    @classmethod
    def of(cls, row) -> Counts:
        """The counts of a capacity row (or anything with the same attributes)."""
        return cls(row.available, row.waitlist, row.lead_funded_available, row.held_general, row.held_lead)

    def store(self, row) -> None:
        """Write the counts back onto a capacity row."""
        for name in self.__slots__:
            setattr(row, name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class Placement:
    """A referral's effect: which unit it holds ("lead", "general" or "none"), its state, the counts after."""

    hold: str
    state: str
    counts: Counts


def claim(counts: Counts, action: str) -> Placement:
    """The hold and state an allowed action gives, and the counts after it."""
    if action == "claim":
        if counts.lead_funded_available - counts.held_lead > 0:
            return Placement("lead", "held", replace(counts, held_lead=counts.held_lead + 1))
        return Placement("general", "held", replace(counts, held_general=counts.held_general + 1))
    if action == "override" and (counts.available or 0) - counts.held_general > 0:
        return Placement("general", "held", replace(counts, held_general=counts.held_general + 1))
    if action == "join_waitlist":
        return Placement("none", "waitlisted", replace(counts, waitlist=(counts.waitlist or 0) + 1))
    return Placement("none", "requested", counts)


def release(counts: Counts, hold: str, state: str, accepted: bool) -> Counts:
    """The counts after an open referral closes: its hold ends (a placement if accepted), a waitlist place
    ends. Never below 0."""
    if state == "held" and hold == "lead":
        counts = replace(counts, held_lead=max(0, counts.held_lead - 1))
        if accepted:
            counts = replace(counts, lead_funded_available=max(0, counts.lead_funded_available - 1))
    elif state == "held" and hold == "general":
        counts = replace(counts, held_general=max(0, counts.held_general - 1))
        if accepted and counts.available is not None:
            counts = replace(counts, available=max(0, counts.available - 1))
    elif state == "waitlisted" and counts.waitlist is not None:
        counts = replace(counts, waitlist=max(0, counts.waitlist - 1))
    return counts
