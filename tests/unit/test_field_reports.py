"""Reports from the field as pure rules: what a report may say, and whether the numbers said a unit was free
(only then can a "full" report make them unverified)."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from directory.domain import capacity as cap
from directory.domain import field_reports as fr
from directory.domain.errors import ValidationError

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
WINDOWS = {"shelter_bed": 12, "bed": 48, "unit": 48, "slot": 168, "appointment": 168}


def numbers(**kw):
    values = {
        "unit": "bed",
        "maximum": 10,
        "available": 0,
        "waitlist": 0,
        "confirmed_at": NOW - timedelta(hours=1),
    }
    values.update(kw)
    return cap.Numbers(**values)


def test_every_observation_of_the_issue_is_accepted():
    assert (
        set(fr.OBSERVED_WORDS)
        == set(fr.OBSERVED_CHOICES)
        == {
            "full",
            "fewer_free",
            "more_free",
            "closed_now",
            "wrong_phone",
            "wrong_hours",
            "moved_or_closed",
            "turned_away",
        }
    )
    assert fr.parse({"observed": "full"}).observed == "full"
    report = fr.parse({"observed": "wrong_phone", "correct_phone": "(206) 555-0100"})
    assert report.correct_phone == "(206) 555-0100"
    report = fr.parse({"observed": "turned_away", "attribute": "no_id_required", "referral_id": 4})
    assert (report.attribute, report.referral_id) == ("no_id_required", 4)


def test_details_that_do_not_belong_to_the_observation_are_dropped():
    report = fr.parse({"observed": "full", "correct_phone": "206 555 0100", "attribute": "pets_allowed"})
    assert (report.correct_phone, report.attribute) == (None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "observed"),
        ({"observed": "FULL"}, "observed"),
        ({"observed": ["full"]}, "observed"),
        ({"observed": "wrong_phone"}, "correct_phone"),
        ({"observed": "wrong_phone", "correct_phone": "call them"}, "correct_phone"),
        ({"observed": "wrong_phone", "correct_phone": "555"}, "correct_phone"),
        ({"observed": "turned_away"}, "attribute"),
        ({"observed": "turned_away", "attribute": "accepts_everyone"}, "attribute"),
        ({"observed": "full", "referral_id": 0}, "referral_id"),
        ({"observed": "full", "referral_id": True}, "referral_id"),
        ({"observed": "full", "referral_id": "abc"}, "referral_id"),
        ({"observed": "full", "note": "x" * 501}, "note"),
        ({"observed": "full", "note": 12}, "note"),
        # Free text follows the project's rules: no contact details or dates about a person.
        ({"observed": "full", "note": "call her at 206-555-0100"}, "note"),
        ({"observed": "full", "note": "born 04/02/1980"}, "note"),
        ({"observed": "full", "reporter": "me"}, "reporter"),
    ],
)
def test_bad_reports_are_refused_naming_the_field(body, field):
    with pytest.raises(ValidationError) as caught:
        fr.parse(body)
    assert caught.value.field == field


def test_numbers_said_free_only_when_fresh_known_and_a_unit_unused():
    assert fr.said_free(numbers(available=2), NOW, WINDOWS)
    assert fr.said_free(numbers(lead_funded_maximum=2, lead_funded_available=1), NOW, WINDOWS)
    # A unit physically free over a waitlist still "said free".
    assert fr.said_free(numbers(available=2, waitlist=5), NOW, WINDOWS)
    assert not fr.said_free(numbers(available=2, held_general=2), NOW, WINDOWS)
    assert not fr.said_free(numbers(available=0), NOW, WINDOWS)
    assert not fr.said_free(numbers(available=None), NOW, WINDOWS)
    assert not fr.said_free(numbers(available=2, waitlist=None), NOW, WINDOWS)
    assert not fr.said_free(numbers(available=2, confirmed_at=NOW - timedelta(hours=49)), NOW, WINDOWS)
    assert not fr.said_free(None, NOW, WINDOWS)


def test_staff_read_the_report_with_its_age_and_role_never_who():
    report = SimpleNamespace(
        observed="full",
        attribute=None,
        source="field",
        at=NOW - timedelta(minutes=12),
        reporter_role="case_manager",
    )
    assert fr.describe(report, NOW) == "reported full 12 min ago by a case manager"
    peer = SimpleNamespace(
        observed="turned_away",
        attribute="accepts_active_use",
        source="field",
        at=NOW - timedelta(hours=3),
        reporter_role="peer_outreach",
    )
    assert fr.describe(peer, NOW) == (
        "reported turning people away despite listing “accepts people actively using” 3 h ago by a peer "
        "outreach worker"
    )
