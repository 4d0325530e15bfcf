"""The capacity classification of domain.md, as a table of boundary cases."""

from datetime import UTC, datetime, timedelta

import pytest

from directory.domain import capacity as cap

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WINDOWS = {"shelter_bed": 12, "bed": 48, "unit": 48, "slot": 168, "appointment": 168}
FRESH = NOW - timedelta(minutes=1)


def numbers(**kw) -> cap.Numbers:
    values = {"unit": "bed", "maximum": 10, "available": 0, "waitlist": 0, "confirmed_at": FRESH}
    values.update(kw)
    return cap.Numbers(**values)


CASES = [
    # (description, numbers or None, coordinated entry, expected)
    ("untracked", None, False, cap.OPEN_ACCESS),
    ("untracked coordinated entry", None, True, cap.OPEN_ACCESS),
    ("never confirmed", numbers(confirmed_at=None, available=3), False, cap.UNVERIFIED),
    ("unknown waitlist", numbers(available=3, waitlist=None), False, cap.UNVERIFIED),
    ("unknown availability", numbers(available=None), False, cap.UNVERIFIED),
    (
        "unknown waitlist beats LEAD units",
        numbers(waitlist=None, lead_funded_maximum=2, lead_funded_available=2),
        False,
        cap.UNVERIFIED,
    ),
    (
        "stale by one second",
        numbers(available=3, confirmed_at=NOW - timedelta(hours=48, seconds=1)),
        False,
        cap.UNVERIFIED,
    ),
    (
        "exactly at the window is fresh",
        numbers(available=3, confirmed_at=NOW - timedelta(hours=48)),
        False,
        cap.SPARE_CAPACITY,
    ),
    (
        "shelter bed stale after 12 h",
        numbers(unit="shelter_bed", available=3, confirmed_at=NOW - timedelta(hours=12, seconds=1)),
        False,
        cap.UNVERIFIED,
    ),
    (
        "slot fresh after 6 days",
        numbers(unit="slot", available=3, confirmed_at=NOW - timedelta(days=6)),
        False,
        cap.SPARE_CAPACITY,
    ),
    ("one LEAD unit free", numbers(lead_funded_maximum=1, lead_funded_available=1), False, cap.LEAD_FUNDED),
    (
        "LEAD unit free but held",
        numbers(lead_funded_maximum=1, lead_funded_available=1, held_lead=1),
        False,
        cap.FULL,
    ),
    (
        "LEAD before waitlist",
        numbers(lead_funded_maximum=2, lead_funded_available=1, waitlist=5),
        False,
        cap.LEAD_FUNDED,
    ),
    (
        "LEAD before coordinated entry",
        numbers(lead_funded_maximum=2, lead_funded_available=2),
        True,
        cap.LEAD_FUNDED,
    ),
    ("coordinated entry without LEAD units", numbers(available=5), True, cap.COORDINATED_ENTRY),
    (
        "coordinated entry, LEAD all held",
        numbers(available=5, lead_funded_maximum=1, lead_funded_available=1, held_lead=1),
        True,
        cap.COORDINATED_ENTRY,
    ),
    ("coordinated entry when full", numbers(available=0, waitlist=4), True, cap.COORDINATED_ENTRY),
    ("one spare", numbers(available=1), False, cap.SPARE_CAPACITY),
    ("zero spare, nobody waiting", numbers(available=0), False, cap.FULL),
    ("holds equal availability", numbers(available=2, held_general=2), False, cap.FULL),
    (
        "holds equal availability, one waiting",
        numbers(available=2, held_general=2, waitlist=1),
        False,
        cap.DISPLACEMENT,
    ),
    ("free units all wanted by the waitlist", numbers(available=3, waitlist=3), False, cap.DISPLACEMENT),
    ("one more free than waiting", numbers(available=4, waitlist=3), False, cap.SPARE_CAPACITY),
    ("one waiting, none free", numbers(available=0, waitlist=1), False, cap.DISPLACEMENT),
    ("holds beyond availability (at risk)", numbers(available=1, held_general=3), False, cap.FULL),
    # Reports from the field: "full" / "fewer free" against free-looking numbers (stored as reported_at).
    (
        "reported full after the confirmation",
        numbers(available=3, reported_at=FRESH + timedelta(seconds=30)),
        False,
        cap.UNVERIFIED,
    ),
    (
        "reported full beats LEAD units",
        numbers(lead_funded_maximum=2, lead_funded_available=2, reported_at=NOW),
        False,
        cap.UNVERIFIED,
    ),
    (
        "confirmed after the report",
        numbers(available=3, reported_at=FRESH - timedelta(seconds=1)),
        False,
        cap.SPARE_CAPACITY,
    ),
    (
        "confirmed at the same moment as the report",
        numbers(available=3, reported_at=FRESH),
        False,
        cap.SPARE_CAPACITY,
    ),
    (
        "report a window old still stands (numbers still fresh: slot)",
        numbers(
            unit="slot",
            available=3,
            confirmed_at=NOW - timedelta(days=6, hours=23),
            reported_at=NOW - timedelta(days=6, hours=22),
        ),
        False,
        cap.UNVERIFIED,
    ),
    (
        "report exactly a window old stands",
        numbers(
            unit="shelter_bed",
            available=3,
            confirmed_at=NOW - timedelta(hours=12),
            reported_at=NOW - timedelta(hours=12) + timedelta(seconds=1),
        ),
        False,
        cap.UNVERIFIED,
    ),
]


@pytest.mark.parametrize(("label", "nums", "coordinated", "expected"), CASES, ids=[c[0] for c in CASES])
def test_classification_table(label, nums, coordinated, expected):
    assert cap.classify(nums, coordinated, NOW, WINDOWS) == expected


def test_derived_counts():
    n = numbers(
        available=7, held_general=2, waitlist=3, lead_funded_maximum=4, lead_funded_available=3, held_lead=1
    )
    assert n.spare == 2
    assert n.lead_free == 2
    assert n.physically_free == 5
    assert numbers(waitlist=None).spare is None


def test_the_schema_takes_the_classification_and_action_names_from_the_domain():
    from directory import models

    assert models.CLASSIFICATIONS is cap.CLASSIFICATIONS
    assert models.ACTIONS is cap.ACTIONS


@pytest.mark.parametrize("available", range(4))
@pytest.mark.parametrize("held", range(4))
@pytest.mark.parametrize("waitlist", [None, 0, 1, 3])
@pytest.mark.parametrize("lead", [(0, 0), (2, 0), (2, 1)])
@pytest.mark.parametrize("coordinated", [False, True])
def test_would_displace_is_the_waitlist_exactly_when_the_classification_is_displacement(
    available, held, waitlist, lead, coordinated
):
    row = numbers(
        available=available,
        held_general=held,
        waitlist=waitlist,
        lead_funded_maximum=lead[0],
        lead_funded_available=lead[1],
    )
    classification = cap.classify(row, coordinated, NOW, WINDOWS)
    # Nobody waits behind a placement unless there is no free unit nobody wants and people are waiting.
    spare = available - held - (waitlist or 0)
    delays = waitlist is not None and lead[1] == 0 and not coordinated and spare <= 0 and waitlist > 0
    assert cap.would_displace(classification, row) == (waitlist if delays else 0)


def test_a_report_ends_with_its_freshness_window():
    """reported_wrong: the report counts from its time for one window of the unit type, then no longer."""
    confirmed = NOW - timedelta(hours=47)
    reported = NOW - timedelta(hours=46)
    n = numbers(available=3, confirmed_at=confirmed, reported_at=reported)
    assert cap.reported_wrong(n, NOW, WINDOWS)
    assert cap.reported_wrong(n, reported + timedelta(hours=48), WINDOWS)
    assert not cap.reported_wrong(n, reported + timedelta(hours=48, seconds=1), WINDOWS)
    # A report is never "wrong" against numbers confirmed after it.
    assert not cap.reported_wrong(
        numbers(available=3, reported_at=FRESH - timedelta(minutes=1)), NOW, WINDOWS
    )
    assert not cap.reported_wrong(numbers(available=3), NOW, WINDOWS)
