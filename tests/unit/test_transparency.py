"""Small-count suppression of the public figures: for every hidden cell of every published period, more than
one value stays consistent with everything published for that period (brute force, by hypothesis)."""

import itertools
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.domain import capacity as cap
from directory.domain.clock import SiteClock
from directory.domain.transparency import (
    HIDDEN,
    NOT_SHOWN,
    closed_periods,
    figures_of,
    period_of,
    suppress,
)

DOMAINS = ["housing", "food", "legal"]
CATEGORIES = {
    "referrals_by_classification": list(cap.CLASSIFICATIONS),
    "referrals_by_domain": [*DOMAINS, "unknown"],
}
# What a check may lead to (domain.md): the action is not free, so the rows are realistic.
ACTIONS = {
    cap.LEAD_FUNDED: ["claim"],
    cap.SPARE_CAPACITY: ["claim"],
    cap.DISPLACEMENT: ["join_waitlist", "override"],
    cap.FULL: ["join_waitlist"],
    cap.OPEN_ACCESS: ["request"],
    cap.UNVERIFIED: ["request"],
    cap.COORDINATED_ENTRY: ["request"],
}


def small_rows():
    """A small period's referrals: (classification, domain, action), skewed so that small cells are common."""
    row = st.sampled_from(list(cap.CLASSIFICATIONS)).flatmap(
        lambda c: st.tuples(st.just(c), st.sampled_from([*DOMAINS, None]), st.sampled_from(ACTIONS[c]))
    )
    return st.lists(row, max_size=30)


def allowed(value) -> bool:
    """Every published count is 0, at least 5, or "fewer than 5"."""
    return (
        value == HIDDEN
        or value == 0
        or (isinstance(value, int) and not isinstance(value, bool) and value >= 5)
    )


def witness(hidden: list[str], remainder: int, cell: str, value: int) -> dict[str, int] | None:
    """One assignment of 0-4 to the hidden cells, `cell` = value, summing to `remainder` (None if none)."""
    left = remainder - value
    world = {cell: value}
    for name in hidden:
        if name == cell:
            continue
        world[name] = min(4, max(0, left))
        left -= world[name]
    return world if left == 0 else None


def consistent_values(published: dict, total, truth: dict[str, int]) -> dict[str, set[int]]:
    """For each hidden cell, every value 0-4 for which a whole world exists that publishes exactly the same
    breakdown (the suppression re-run on that world: a reader who knows the rule gains nothing more)."""
    hidden = [name for name, value in published.items() if value == HIDDEN]
    shown = {name: value for name, value in published.items() if value != HIDDEN}
    totals = [total] if isinstance(total, int) else range(1, 5)
    options: dict[str, set[int]] = {name: set() for name in hidden}
    for period_total in totals:
        remainder = period_total - sum(shown.values())
        for cell in hidden:
            for value in range(5):
                world = witness(hidden, remainder, cell, value)
                if world is None:
                    continue
                cells = {name: shown.get(name, world.get(name)) for name in published}
                if suppress(period_total, cells) == published:
                    options[cell].add(value)
    # The truth is one of the worlds: the search itself is sound.
    for cell in hidden:
        assert truth[cell] in options[cell]
    return options


def check_period(rows):
    figures = figures_of(rows, DOMAINS)
    total = len(rows)
    assert allowed(figures["total"])
    assert figures["total"] == (HIDDEN if 0 < total < 5 else total)
    truths = {
        "referrals_by_classification": Counter(r[0] for r in rows),
        "referrals_by_domain": Counter(r[1] or "unknown" for r in rows),
    }
    for key, categories in CATEGORIES.items():
        part = figures[key]
        if not part["shown"]:
            assert part["cells"] is None
            continue
        cells = part["cells"]
        assert list(cells) == categories  # every category, zeros included, in a fixed order
        truth = {name: truths[key].get(name, 0) for name in categories}
        for name, value in cells.items():
            assert allowed(value)
            if value == HIDDEN:
                assert truth[name] < 5
            else:
                assert value == truth[name]
        if HIDDEN in cells.values():
            assert list(cells.values()).count(HIDDEN) >= 2
        for name, values in consistent_values(cells, figures["total"], truth).items():
            assert len(values) > 1, (key, name, cells, values)
    rate = figures["displacement_rate"]
    classification = figures["referrals_by_classification"]["cells"]
    overrides = sum(1 for r in rows if r[2] == "override")
    if rate.endswith("%"):
        # Only published beside a shown displacement count, and never revealing a count from 1 to 4.
        assert isinstance(classification[cap.DISPLACEMENT], int)
        assert overrides == 0 or overrides >= 5
        assert rate == f"{100 * overrides / total:.1f}%"
    else:
        assert rate in (NOT_SHOWN, "no referrals")
    return figures


@settings(max_examples=600, deadline=None)
@given(small_rows())
def test_no_hidden_cell_of_a_period_can_be_derived(rows):
    check_period(rows)


def test_examples_worked_by_hand():
    # 12 referrals: 10 spare capacity, 2 full. The 2 is hidden with every zero of the breakdown.
    rows = [(cap.SPARE_CAPACITY, "food", "claim")] * 10 + [(cap.FULL, "food", "join_waitlist")] * 2
    figures = check_period(rows)
    cells = figures["referrals_by_classification"]["cells"]
    assert cells[cap.SPARE_CAPACITY] == 10
    assert cells[cap.FULL] == HIDDEN and cells[cap.LEAD_FUNDED] == HIDDEN
    # The domain breakdown has no small count (12 and zeros): its zeros are shown as 0.
    assert figures["referrals_by_domain"]["cells"] == {"housing": 0, "food": 12, "legal": 0, "unknown": 0}
    # 8 = 4 + 4 over two categories only: both hidden would be determined (4 and 4): not shown.
    assert suppress(8, {"a": 4, "b": 4}) is None
    # One small cell and nothing else below 5: not shown.
    assert suppress(20, {"a": 16, "b": 4}) is None
    # A period of 3: its total is "fewer than 5" and nothing else is shown.
    tiny = figures_of([(cap.FULL, "food", "join_waitlist")] * 3, DOMAINS)
    assert tiny["total"] == HIDDEN
    assert not tiny["referrals_by_classification"]["shown"] and not tiny["referrals_by_domain"]["shown"]
    # No referrals: all zeros, nothing hidden.
    empty = figures_of([], DOMAINS)
    assert empty["total"] == 0 and set(empty["referrals_by_domain"]["cells"].values()) == {0}


def test_a_rule_that_hid_only_the_first_zero_would_leak():
    """Why every cell below 5 is hidden: with "hide the first zero", a reader who knows the rule and sees the
    second zero shown knows the hidden first one is the zero. Our rule hides both zeros."""
    cells = {"a": 0, "b": 0, "c": 1, "d": 20}
    published = suppress(21, cells)
    assert published == {"a": HIDDEN, "b": HIDDEN, "c": HIDDEN, "d": 20}
    options = consistent_values(published, 21, cells)
    assert options == {"a": {0, 1}, "b": {0, 1}, "c": {0, 1}}


@pytest.mark.parametrize("size", [2, 3, 4])
def test_full_enumeration_of_every_small_breakdown(size):
    """Every breakdown of `size` categories with cells 0-6: enumerate all worlds (no shortcut) and compare."""
    for values in itertools.product(range(7), repeat=size):
        cells = {f"c{i}": v for i, v in enumerate(values)}
        total = sum(values)
        published = suppress(total, cells)
        if published is None:
            continue
        hidden = [n for n, v in published.items() if v == HIDDEN]
        seen: dict[str, set[int]] = {n: set() for n in hidden}
        for world in itertools.product(range(5), repeat=len(hidden)):
            candidate = {**cells, **dict(zip(hidden, world, strict=True))}
            if sum(candidate.values()) == total and suppress(total, candidate) == published:
                for name, value in zip(hidden, world, strict=True):
                    seen[name].add(value)
        assert all(len(v) > 1 for v in seen.values()), (cells, published, seen)


def test_periods_are_the_sites_and_closed_only():
    clock = SiteClock("America/Los_Angeles")
    now = datetime(2026, 11, 24, 18, tzinfo=UTC)
    # Seattle's October: 07:00 UTC on 1 October to 07:00 UTC on 1 November (still PDT at midnight).
    october = period_of(clock, "month", datetime(2026, 10, 15, tzinfo=UTC))
    assert (october.label, october.start, october.end) == (
        "2026-10",
        datetime(2026, 10, 1, 7, tzinfo=UTC),
        datetime(2026, 11, 1, 7, tzinfo=UTC),
    )
    months = closed_periods(clock, "month", datetime(2026, 9, 3, tzinfo=UTC), now)
    assert [p.label for p in months] == ["2026-09", "2026-10"]  # November has not ended
    # 00:30 UTC on 1 October is still 30 September in Seattle.
    assert period_of(clock, "month", datetime(2026, 10, 1, 0, 30, tzinfo=UTC)).label == "2026-09"
    quarter = period_of(clock, "quarter", datetime(2026, 8, 1, tzinfo=UTC))
    assert (quarter.label, quarter.start, quarter.end) == (
        "2026-Q3",
        datetime(2026, 7, 1, 7, tzinfo=UTC),
        datetime(2026, 10, 1, 7, tzinfo=UTC),
    )
    assert closed_periods(clock, "quarter", datetime(2026, 9, 3, tzinfo=UTC), now)[-1].label == "2026-Q3"
    assert closed_periods(clock, "quarter", datetime(2026, 10, 3, tzinfo=UTC), now) == []
