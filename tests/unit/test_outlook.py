"""One sentence of what a new referral gets and why, for every classification (domain/outlook.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from directory.domain import capacity as cap
from directory.domain.outlook import referral_outlook

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
WINDOWS = {"shelter_bed": 12, "bed": 48, "unit": 48, "slot": 168, "appointment": 168}


def numbers(**kw) -> cap.Numbers:
    values = {"unit": "bed", "maximum": 10, "available": 0, "waitlist": 0, "confirmed_at": NOW}
    values.update(kw)
    return cap.Numbers(**values)


def sentence(coordinated_entry=False, counts=True, lead_counts=True, **kw) -> tuple[str, str]:
    """(classification, sentence) for these numbers, classified by the domain's own rule."""
    row = numbers(**kw)
    status = cap.classify(row, coordinated_entry, NOW, WINDOWS)
    return status, referral_outlook(status, row, counts, lead_counts)


def test_lead_funded_says_which_unit_and_how_many_of_the_purchased_are_free():
    # "Available 1 of 56" beside "LEAD-funded free 2 of 4": one sentence instead.
    status, text = sentence(
        maximum=56, available=1, waitlist=3, lead_funded_maximum=4, lead_funded_available=2
    )
    assert status == cap.LEAD_FUNDED
    assert (
        text
        == "A new referral gets a LEAD-funded bed (2 of 4 free): an addition, so nobody waiting is passed."
    )


def test_held_lead_units_are_not_free():
    _, text = sentence(lead_funded_maximum=4, lead_funded_available=3, held_lead=2)
    assert "(1 of 4 free)" in text


def test_displacement_says_who_would_be_delayed_and_why_free_units_are_not_free():
    # "20 of 22 free" beside "would delay 25".
    status, text = sentence(maximum=22, available=20, waitlist=25)
    assert status == cap.DISPLACEMENT
    assert text == (
        "Placing someone now would delay 25 people waiting: the 20 free beds are theirs. "
        "A new referral joins the waitlist."
    )
    _, one = sentence(unit="shelter_bed", maximum=5, available=1, waitlist=1)
    assert "delay 1 person waiting: the 1 free shelter bed are theirs" not in one
    assert "delay 1 person waiting: the 1 free shelter bed is theirs" in one
    _, none_free = sentence(maximum=5, available=2, held_general=2, waitlist=4)
    assert "no bed is free" in none_free


def test_spare_full_coordinated_entry_open_access_and_unverified():
    status, spare = sentence(unit="unit", available=5, held_general=1, waitlist=2)
    assert status == cap.SPARE_CAPACITY
    assert spare == "A new referral gets a spare housing unit (2 spare): nobody on the waitlist is passed."
    status, full = sentence(unit="slot", available=0, waitlist=0)
    assert (status, full) == (
        cap.FULL,
        "No slot is free and nobody is waiting: a new referral joins the waitlist.",
    )
    status, ce = sentence(coordinated_entry=True, available=3)
    assert status == cap.COORDINATED_ENTRY and "coordinated-entry list" in ce and "nothing is held" in ce
    assert referral_outlook(cap.OPEN_ACCESS, None).startswith("Open access: a new referral holds nothing")


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"confirmed_at": None}, "never confirmed"),
        ({"waitlist": None}, "nobody knows how many are waiting"),
        ({"confirmed_at": NOW - timedelta(hours=49)}, "out of date"),
    ],
)
def test_unverified_says_why_and_to_call(changes, why):
    status, text = sentence(available=3, **changes)
    assert status == cap.UNVERIFIED
    assert why in text and text.endswith("so call first.") and "holds nothing" in text


def test_a_reader_without_counts_reads_no_figure():
    for kw in (
        {"available": 5},
        {"maximum": 22, "available": 20, "waitlist": 25},
        {"lead_funded_maximum": 4, "lead_funded_available": 2},
    ):
        _, text = sentence(counts=False, lead_counts=False, **kw)
        assert not any(ch.isdigit() for ch in text), text
