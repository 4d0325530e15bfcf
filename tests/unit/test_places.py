"""Places as people write them, offline (issue 20): site places by their start and abbreviations, cross
streets the site lists, towns of the site's state, and a precise answer when none fits."""

import pytest

from directory.domain.errors import ValidationError
from directory.domain.geo import haversine_km
from directory.domain.places import find_place, offline_help, site_state, tokens

SEATTLE = (47.6062, -122.3321)
PLACES = {
    "Pioneer Square": (47.6015, -122.3343),
    "Capitol Hill": (47.6235, -122.3190),
    "Capitol Hill Station": (47.6190, -122.3203),
    "Mount Baker": (47.5770, -122.2900),
    "2nd Ave & Jackson St": (47.5993, -122.3318),
    "Seattle Central Library": (47.6067, -122.3325),
}


def found(text, **kw):
    point = find_place(text, PLACES, SEATTLE, **kw)
    return None if point is None else point.label


@pytest.mark.parametrize(
    "text",
    [
        "Pioneer Square",
        "pioneer sq",
        "PIONEER SQ.",
        "Pion",
        "Pioneer Square, Seattle",
        "Pioneer Sq, Seattle, WA 98104",
    ],
)
def test_site_places_by_start_and_abbreviation(text):
    assert found(text) == "Pioneer Square"


def test_abbreviations_both_ways():
    assert tokens("Mount Baker Avenue South") == tokens("Mt Baker Ave S") == ["mt", "baker", "ave", "s"]
    assert found("Mt Baker") == "Mount Baker"


@pytest.mark.parametrize(
    "text",
    [
        "2nd Ave & Jackson St, Seattle",
        "2nd and Jackson",
        "Jackson St & 2nd Ave S",
        "2nd @ jackson",
        "2nd at Jackson",
    ],
)
def test_cross_streets_the_site_lists(text):
    assert found(text) == "2nd Ave & Jackson St"


def test_cross_streets_the_site_does_not_list_are_not_guessed():
    assert found("3rd & Pine") is None


def test_towns_of_the_site_state():
    assert site_state(*SEATTLE) == "WA"
    tacoma = find_place("Tacoma", PLACES, SEATTLE)
    # Tacoma's centre is about 45 km south-southwest of Seattle's.
    assert 35 < haversine_km(*SEATTLE, tacoma.latitude, tacoma.longitude) < 55
    assert tacoma.label == "Tacoma, WA" and tacoma.precision == "approximate"
    assert found("tacoma, wa") == "Tacoma, WA"
    assert found("Tacoma Washington") == "Tacoma, WA"
    # A town whole beats a site place that merely begins with its name.
    assert found("Seattle") == "Seattle, WA"
    assert found("Seattle Cen") == "Seattle Central Library"
    # Another state's town is not the site's.
    assert found("Portland") is None


def test_street_and_town_offline_is_the_town_centre_and_says_so():
    assert found("1 Main St, Tacoma") == "Tacoma, WA (town centre)"
    # With an address geocoder, the street is the geocoder's to place.
    assert found("1 Main St, Tacoma", town_fallback=False) is None


def test_a_start_shared_by_places_names_them():
    with pytest.raises(ValidationError) as raised:
        find_place("Capitol", PLACES, SEATTLE)
    assert raised.value.field == "near"
    assert "Capitol Hill, Capitol Hill Station" in raised.value.message
    assert found("Capitol Hill") == "Capitol Hill"  # the whole name is not ambiguous


def test_nothing_and_numbers_are_left_to_the_other_rules():
    assert found("98104") is None
    assert found("12345 Nowhere Rd") is None
    assert found("") is None


def test_offline_help_says_what_is_accepted_and_how_to_configure():
    text = offline_help("1 Main St", ["Pioneer Square"], "WA")
    for part in ("lat,lon", "ZIP", '"Pioneer Square"', "cross streets", "town in WA", "GEOCODER"):
        assert part in text, part
