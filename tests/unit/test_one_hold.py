"""One hold per need as pure rules: levels of care, the explicit choice a second hold needs, the cap on a
participant-choosing hold, and the parsing of the API's fields."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from directory.domain import one_hold
from directory.domain.errors import ValidationError

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def term(term_id, parent="housing"):
    return SimpleNamespace(id=term_id, parent_id=parent)


def service(*terms):
    return SimpleNamespace(categories=list(terms))


def held(referral_id, svc, state="held"):
    return SimpleNamespace(id=referral_id, service=svc, state=state)


SHELTER = term("housing.emergency_shelter")
SUPPORTIVE = term("housing.permanent_supportive")
DOMAIN = term("housing", parent=None)


def test_a_level_of_care_is_a_term_below_a_domain():
    assert one_hold.levels_of_care(service(DOMAIN, SHELTER)) == {"housing.emergency_shelter"}
    assert one_hold.levels_of_care(service(DOMAIN)) == frozenset()
    assert one_hold.same_level(service(SHELTER), service(DOMAIN, SHELTER))
    # Shelter tonight, supportive housing later: the same domain, not the same level of care.
    assert not one_hold.same_level(service(SHELTER), service(SUPPORTIVE))
    # A service known only by its domain shares no level of care with anything.
    assert not one_hold.same_level(service(DOMAIN), service(DOMAIN))


def test_only_held_units_at_the_level_count():
    shelter = service(SHELTER)
    referrals = [
        held(1, service(SHELTER)),
        held(2, service(SHELTER), state="waitlisted"),
        held(3, service(SHELTER), state="requested"),
        held(4, service(SUPPORTIVE)),
    ]
    assert [r.id for r in one_hold.held_at_level(referrals, shelter)] == [1]


def test_a_second_hold_needs_an_explicit_choice():
    first = held(7, service(SHELTER))
    missing = one_hold.decide([first], True, (), None)
    assert missing.missing is not None and "keep both" in missing.missing
    released = one_hold.decide([first], True, (7,), None)
    assert (released.missing, [r.id for r in released.release], released.keep_both_reason) == (
        None,
        [7],
        None,
    )
    kept = one_hold.decide([first], True, (), "next_step")
    assert (kept.missing, kept.release, kept.keep_both_reason) == (None, (), "next_step")
    # Nothing to choose when the new referral holds nothing (a request, a waitlist place).
    assert one_hold.decide([first], False, (), None).missing is None
    assert one_hold.decide([], True, (), "next_step").keep_both_reason is None


def test_never_more_than_two_held_units_at_one_level():
    holds = [held(1, service(SHELTER)), held(2, service(SHELTER))]
    assert "at most 2" in one_hold.decide(holds, True, (), "participant_choosing").missing
    after = one_hold.decide(holds, True, (1,), "participant_choosing")
    assert after.missing is None and [r.id for r in after.release] == [1]


def test_release_ids_must_name_the_participants_holds_at_the_level():
    with pytest.raises(ValidationError) as caught:
        one_hold.decide([held(1, service(SHELTER))], True, (99,), None)
    assert caught.value.field == "release_referral_ids"


def test_a_participant_choosing_hold_lasts_at_most_an_hour():
    later = NOW + timedelta(hours=3)
    assert one_hold.capped_expiry(later, "participant_choosing", NOW) == NOW + timedelta(hours=1)
    assert one_hold.capped_expiry(
        NOW + timedelta(minutes=20), "participant_choosing", NOW
    ) == NOW + timedelta(minutes=20)
    assert one_hold.capped_expiry(later, "eligibility_uncertain", NOW) == later
    assert one_hold.capped_expiry(later, None, NOW) == later


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, ()), ([], ()), ([3, 3, "4"], (3, 4)), (["12"], (12,))],
)
def test_release_ids_parse(raw, expected):
    assert one_hold.parse_release_ids(raw) == expected


@pytest.mark.parametrize("raw", [5, "5", [0], [True], ["x"], [-1], [{"id": 1}], list(range(1, 20))])
def test_bad_release_ids_are_refused(raw):
    with pytest.raises(ValidationError) as caught:
        one_hold.parse_release_ids(raw)
    assert caught.value.field == "release_referral_ids"


def test_keep_both_reason_is_from_the_short_list():
    assert one_hold.parse_keep_both("eligibility_uncertain") == "eligibility_uncertain"
    assert one_hold.parse_keep_both("") is None
    for bad in ("because", 1, ["next_step"]):
        with pytest.raises(ValidationError):
            one_hold.parse_keep_both(bad)
