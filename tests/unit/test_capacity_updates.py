"""The one rule for new capacity numbers (capacity_updates.decide): invariants and the holds put at risk."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from directory.domain.capacity_updates import HeldUnit, decide
from directory.domain.errors import ValidationError

COUNT = st.integers(min_value=0, max_value=30)


def row(**numbers):
    base = {
        "maximum": 10,
        "available": 5,
        "waitlist": 0,
        "lead_funded_maximum": 2,
        "lead_funded_available": 2,
        "held_general": 0,
        "held_lead": 0,
    }
    return {**base, **numbers}


@st.composite
def holds(draw):
    """Held referrals newest first, some already flagged, with the row's held counts that match them."""
    kinds = draw(st.lists(st.sampled_from(["general", "lead"]), max_size=12))
    flags = draw(st.lists(st.booleans(), min_size=len(kinds), max_size=len(kinds)))
    return [HeldUnit(100 - i, kind, flag) for i, (kind, flag) in enumerate(zip(kinds, flags, strict=True))]


@given(holds(), COUNT, COUNT)
def test_the_newest_holds_beyond_the_free_units_are_at_risk(units, available, lead_available):
    held_general = sum(u.hold == "general" for u in units)
    held_lead = len(units) - held_general
    current = row(held_general=held_general, held_lead=held_lead)
    changes = {
        "maximum": 30,
        "available": available,
        "lead_funded_maximum": 30,
        "lead_funded_available": lead_available,
    }
    decision = decide(current, changes, True, units)
    # Expected, computed per kind from the list's order (newest first) without the rule's own code.
    expected = []
    for kind, free in (("general", available), ("lead", lead_available)):
        mine = [u.referral_id for u in units if u.hold == kind]
        expected += mine[: max(0, len(mine) - free)]
    assert sorted(decision.at_risk) == sorted(expected)
    flagged = {u.referral_id for u in units if u.at_risk}
    assert set(decision.newly_at_risk) == set(expected) - flagged
    assert set(decision.no_longer_at_risk) == flagged - set(expected)
    assert decision.values["available"] == available and decision.values["waitlist"] == 0


@given(COUNT, COUNT)
def test_numbers_above_their_maximum_are_refused_never_clamped(maximum, available):
    changes = {"maximum": maximum, "available": available}
    if available > maximum:
        with pytest.raises(ValidationError) as error:
            decide(row(), changes, True, [])
        assert error.value.field == "available"
    else:
        assert decide(row(), changes, True, []).values["available"] == available


def test_unknown_free_units_put_every_general_hold_at_risk():
    units = [HeldUnit(2, "general", False), HeldUnit(1, "general", False)]
    decision = decide(row(held_general=2), {"available": None}, True, units)
    assert decision.at_risk == (1, 2) and decision.values["available"] is None


def test_a_service_that_is_not_lead_fundable_cannot_take_lead_units():
    with pytest.raises(ValidationError) as error:
        decide(row(lead_funded_maximum=0, lead_funded_available=0), {"lead_funded_maximum": 1}, False, [])
    assert error.value.field == "lead_funded_maximum"
    assert decide(row(), {"maximum": 6}, True, []).values == {
        "maximum": 6,
        "available": 5,
        "waitlist": 0,
        "lead_funded_maximum": 2,
        "lead_funded_available": 2,
    }
