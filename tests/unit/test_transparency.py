"""Small-count suppression: nothing below 5 is shown, and no hidden part can be worked out from what is."""

from hypothesis import given, settings
from hypothesis import strategies as st

from directory.domain.transparency import HIDDEN, protect


def possible_values(line, parts_true):
    """For each hidden part, the values consistent with everything shown (computed by enumeration)."""
    hidden = [name for name, value in line.parts.items() if value == HIDDEN]
    shown = sum(value for value in line.parts.values() if value != HIDDEN)
    options = {name: set() for name in hidden}

    def walk(index, chosen):
        if index == len(hidden):
            if line.total is None or line.total == HIDDEN or shown + sum(chosen) == line.total:
                for name, value in zip(hidden, chosen, strict=True):
                    options[name].add(value)
            return
        for value in range(0, 5):
            walk(index + 1, [*chosen, value])

    walk(0, [])
    return options


def check(total, parts):
    line = protect(total, parts)
    for name, value in line.parts.items():
        assert value == HIDDEN or value == 0 or (isinstance(value, int) and value >= 5)
        if value != HIDDEN:
            assert value == parts[name]
        else:
            assert parts[name] < 5  # "fewer than 5" is always true
    assert line.total in (None, HIDDEN) or line.total == 0 or line.total >= 5
    for name, values in possible_values(line, parts).items():
        assert len(values) >= 2, (total, parts, line, name)


def test_examples():
    check(20, {"a": 17, "b": 3, "c": 0})  # one small part: the zero is hidden with it
    check(20, {"a": 16, "b": 4})  # one small part and nothing else small: the total is withheld
    check(7, {"a": 3, "b": 4})  # the hidden parts would be 3+4=7 = at most 8: not determined
    check(8, {"a": 4, "b": 4})  # all at the maximum: the total is withheld
    check(3, {"a": 3, "b": 0})
    check(0, {"a": 0})
    check(12, {"a": 12, "b": 0})


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=6))
def test_no_hidden_part_can_be_derived(values):
    parts = {f"p{i}": v for i, v in enumerate(values)}
    check(sum(values), parts)


def test_public_json_has_no_small_integers(demo_client):
    import json

    body = demo_client.get("/api/v1/transparency").get_json()

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, bool):
            raise AssertionError("no booleans expected")
        elif isinstance(node, int):
            assert node == 0 or node >= 5
        elif isinstance(node, float):
            raise AssertionError("no other numbers")

    walk(body)
    assert "P-" not in json.dumps(body)
