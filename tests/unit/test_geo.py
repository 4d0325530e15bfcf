"""Resolving `near`, bounding boxes and distances."""

import math

import pytest
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.domain.errors import ValidationError
from directory.domain.geo import bounding_box, geodesic_km, haversine_km, resolve_near

PLACES = {"pioneer square": (47.6015, -122.3343)}


def test_latlon_text():
    point = resolve_near(" 47.6, -122.33 ", PLACES)
    assert (point.latitude, point.longitude, point.precision) == (47.6, -122.33, "exact")


def test_zip_centroid_is_near_downtown_seattle():
    point = resolve_near("98104", PLACES)
    assert point.precision == "zip"
    # 98104 is downtown Seattle: within 2 km of Pioneer Square.
    assert geodesic_km(point.latitude, point.longitude, 47.6015, -122.3343) < 2


def test_zip_plus_four():
    assert resolve_near("98104-1234", PLACES).precision == "zip"


def test_place_name_case_insensitive():
    point = resolve_near("Pioneer SQUARE", {"pioneer square": (47.6015, -122.3343)})
    assert (point.latitude, point.longitude) == (47.6015, -122.3343)


def test_address_with_zip_offline_is_approximate():
    point = resolve_near("400 Yesler Way, Seattle, WA 98104", PLACES)
    assert point.precision == "approximate"


def test_military_zip_is_no_place():
    # 09001 (APO AE) is a real ZIP whose centroid the zipcodes package gives as 0,0.
    import zipcodes

    [row] = zipcodes.matching("09001")
    assert (float(row["lat"]), float(row["long"])) == (0, 0)
    with pytest.raises(ValidationError):
        resolve_near("09001", PLACES)


@pytest.mark.parametrize(
    "text", ["", "   ", "91.0,10", "10,181", "00000", "nowhere at all", "x" * 301, "47.6,-122.3,5"]
)
def test_unresolvable_is_a_validation_error(text):
    with pytest.raises(ValidationError) as info:
        resolve_near(text, PLACES)
    assert info.value.field == "near"


def test_geodesic_one_degree_of_longitude_at_equator():
    # WGS84: one degree of longitude on the equator is a * pi / 180 = 111.319491 km.
    expected = 6378.137 * math.pi / 180
    assert geodesic_km(0, 0, 0, 1) == pytest.approx(expected, abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-179, 179),
    radius=st.floats(0.01, 200),
    bearing=st.floats(0, 360),
    fraction=st.floats(0, 1),
)
def test_bounding_box_holds_every_point_within_the_radius(lat, lon, radius, bearing, fraction):
    end = Geodesic.WGS84.Direct(lat, lon, bearing, radius * fraction * 1000)
    south, north, west, east = bounding_box(lat, lon, radius)
    assert south <= end["lat2"] <= north
    lon2 = end["lon2"]
    assert west <= lon2 <= east or (west, east) == (-180.0, 180.0)


@settings(max_examples=200, deadline=None)
@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-179, 179),
    distance=st.floats(0.001, 200),
    bearing=st.floats(0, 360),
)
def test_haversine_is_within_the_search_error_margin(lat, lon, distance, bearing):
    from directory.domain.search import SPHERE_ERROR

    end = Geodesic.WGS84.Direct(lat, lon, bearing, distance * 1000)
    approx = haversine_km(lat, lon, end["lat2"], end["lon2"])
    # The search trusts the sphere only beyond this margin: it must hold in both directions.
    assert distance * (1 - SPHERE_ERROR) <= approx <= distance * (1 + SPHERE_ERROR)
