"""The project manager's per-provider tables merge confidential services into one row."""

from collections import Counter

from directory.domain.confidential_rows import CONFIDENTIAL_ROW, merge_counter, merge_rows


def test_counter_merges_every_confidential_provider():
    counts = Counter({"Shelter A": 2, "Shelter B": 3, "Food Bank": 4})
    merged = merge_counter(counts, {"Shelter A", "Shelter B"})
    assert merged == Counter({CONFIDENTIAL_ROW: 5, "Food Bank": 4})
    assert "Shelter A" not in merged and "Shelter B" not in merged
    assert merge_counter(Counter({"Food Bank": 1}), {"Shelter A"}) == Counter({"Food Bank": 1})
    assert counts["Shelter A"] == 2  # the original is untouched


def test_rows_sum_numbers_and_blank_the_rest():
    rows = [
        ["provider", "purchased", "used", "note"],
        ["Shelter A", 2, 1, "x"],
        ["Food Bank", 5, 3, "y"],
        ["Shelter B", 1, 0, "z"],
    ]
    merged = merge_rows(rows, ["Shelter A", "Shelter B"])
    assert merged == [
        ["provider", "purchased", "used", "note"],
        ["Food Bank", 5, 3, "y"],
        [CONFIDENTIAL_ROW, 3, 1, None],
    ]
    assert merge_rows(rows[:3:2], ["Shelter A"]) == [rows[0], rows[2]]
