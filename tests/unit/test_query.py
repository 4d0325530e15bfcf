"""Search query validation (contract.md query rules): every bad value is a 400 naming its field."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.domain.errors import ValidationError
from directory.domain.reference import Reference
from directory.domain.search import KNOWN_PARAMS, parse_query

REF = Reference(
    domains={"housing": "Housing", "food": "Food"},
    terms={"housing.emergency_shelter": "housing"},
    term_names={},
    languages={"es": "es", "spanish": "es", "en": "en", "english": "en"},
    language_names={"es": "Spanish", "en": "English"},
    populations={"women": "women"},
    population_names={"women": "Women"},
    places={"pioneer square": (47.6015, -122.3343)},
    place_names={1: "Pioneer Square"},
)


def parse(**params):
    return parse_query(params, REF, None, 10.0)


def test_defaults():
    q = parse()
    assert (q.page, q.per_page, q.center, q.radius_km) == (1, 20, None, None)


def test_a_full_query():
    q = parse(
        q="Night Shelter",
        category="housing",
        near="98104",
        radius_km="2.5",
        language="Spanish",
        population="women",
        low_barrier="1",
        housing_first="true",
        availability="spare",
        open_now="0",
        page="2",
        per_page="100",
    )
    assert q.terms == ("night", "shelter")
    assert q.category == "housing"
    assert q.center.precision == "zip"
    assert q.radius_km == 2.5
    assert q.language == "es"
    assert q.population == "women"
    assert (q.low_barrier, q.housing_first, q.open_now) == (True, True, False)
    assert q.availability == "spare"
    assert (q.page, q.per_page) == (2, 100)


def test_location_without_radius_uses_site_default():
    assert parse(lat="47.6", lon="-122.3").radius_km == 10.0


def test_availability_any_means_no_filter():
    assert parse(availability="any").availability is None


def test_sub_term_category():
    assert parse(category="housing.emergency_shelter").category == "housing.emergency_shelter"


BAD = [
    ({"category": "spaceships"}, "category"),
    ({"near": "nowhere-land"}, "near"),
    ({"near": "00000"}, "near"),
    ({"lat": "47.6"}, "lon"),
    ({"lon": "-122"}, "lat"),
    ({"lat": "91", "lon": "0"}, "lat"),
    ({"lat": "0", "lon": "-181"}, "lon"),
    ({"lat": "nan", "lon": "0"}, "lat"),
    ({"lat": "inf", "lon": "0"}, "lat"),
    ({"lat": "1e400", "lon": "0"}, "lat"),
    ({"lat": "0x10", "lon": "0"}, "lat"),
    ({"near": "98104", "lat": "1", "lon": "1"}, "near"),
    ({"near": "98104", "radius_km": "0"}, "radius_km"),
    ({"near": "98104", "radius_km": "-1"}, "radius_km"),
    ({"near": "98104", "radius_km": "200.01"}, "radius_km"),
    ({"near": "98104", "radius_km": "ten"}, "radius_km"),
    ({"radius_km": "5"}, "radius_km"),
    ({"language": "Klingon"}, "language"),
    ({"population": "martians"}, "population"),
    ({"low_barrier": "yes"}, "low_barrier"),
    ({"housing_first": "TRUE!"}, "housing_first"),
    ({"open_now": "2"}, "open_now"),
    ({"availability": "plenty"}, "availability"),
    ({"page": "0"}, "page"),
    ({"page": "1.5"}, "page"),
    ({"page": "-1"}, "page"),
    ({"page": "99999999999999999999"}, "page"),
    ({"page": "١"}, "page"),  # an Arabic-Indic digit is not a decimal integer here
    ({"per_page": "0"}, "per_page"),
    ({"per_page": "101"}, "per_page"),
    ({"q": "x" * 201}, "q"),
    ({"q": "a b c d e f g h i j"}, "q"),
    ({"q": "nul\x00byte"}, "q"),
]


@pytest.mark.parametrize(("params", "field"), BAD, ids=[str(p) for p, _ in BAD])
def test_bad_values_name_their_field(params, field):
    with pytest.raises(ValidationError) as info:
        parse(**params)
    assert info.value.field == field
    assert info.value.message


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(sorted(KNOWN_PARAMS)),
        st.text(max_size=40),
        max_size=6,
    )
)
def test_any_query_string_parses_or_names_a_field(params):
    try:
        parse_query(params, REF, None, 10.0)
    except ValidationError as exc:
        assert exc.field in params or exc.field in {"lat", "lon", "near"}
