"""Claim and release arithmetic: what each action holds, and that releasing gives back exactly that."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from directory.domain.holds import Counts, claim, release

SMALL = st.integers(min_value=0, max_value=20)


@st.composite
def counts(draw, known_waitlist=True):
    held_general, held_lead = draw(SMALL), draw(SMALL)
    return Counts(
        available=draw(st.one_of(st.none(), SMALL)),
        waitlist=draw(SMALL) if known_waitlist else draw(st.one_of(st.none(), SMALL)),
        lead_funded_available=draw(SMALL),
        held_general=held_general,
        held_lead=held_lead,
    )


ACTIONS = st.sampled_from(["claim", "override", "join_waitlist", "request"])


@given(counts(), ACTIONS)
def test_claim_then_release_without_placement_restores_every_count(before, action):
    placement = claim(before, action)
    assert release(placement.counts, placement.hold, placement.state, accepted=False) == before


@given(counts(), ACTIONS)
def test_a_claim_changes_one_count_by_one(before, action):
    after = claim(before, action).counts
    changed = {name: (getattr(after, name) or 0) - (getattr(before, name) or 0) for name in Counts.__slots__}
    assert sorted(changed.values()) in ([0, 0, 0, 0, 0], [0, 0, 0, 0, 1])


@given(counts())
def test_lead_units_are_claimed_first_and_accepting_turns_a_hold_into_a_placement(before):
    placement = claim(before, "claim")
    lead_free = before.lead_funded_available - before.held_lead
    assert placement.hold == ("lead" if lead_free > 0 else "general")
    placed = release(placement.counts, placement.hold, "held", accepted=True)
    if placement.hold == "lead":
        assert placed.lead_funded_available == max(0, before.lead_funded_available - 1)
        assert (placed.available, placed.held_lead) == (before.available, before.held_lead)
    else:
        expected = None if before.available is None else max(0, before.available - 1)
        assert (placed.available, placed.held_general) == (expected, before.held_general)


@given(counts())
def test_an_override_holds_only_a_physically_free_unit(before):
    placement = claim(before, "override")
    free = (before.available or 0) - before.held_general
    assert (placement.hold, placement.state) == (("general", "held") if free > 0 else ("none", "requested"))


@given(counts(known_waitlist=False))
def test_an_unknown_waitlist_is_never_lowered_below_zero_or_invented_on_release(before):
    after = release(before, "none", "waitlisted", accepted=False)
    assert after.waitlist == (None if before.waitlist is None else max(0, before.waitlist - 1))
