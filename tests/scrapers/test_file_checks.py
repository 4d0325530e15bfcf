"""File-level checks of the flat importers: a file-wide coordinate swap, Web Mercator metres, (0, 0), a ZIP of
another state, US territories, the spellings of "no value", and column names in any case."""

from __future__ import annotations

import math

import pytest

from scrapers import generic_csv, hud, samhsa
from scrapers.common import check_coordinates, check_zip_state, coordinate_order, from_mercator

from .helpers import read_rows, shared

HEADER = "NAME1,name2,Street1,street2,City,STATE,zip,zip4,county,Latitude,Longitude\n"


def write(tmp_path, rows: list[str], header: str = HEADER, name: str = "samhsa.csv"):
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def notes(result, record=None, field=None):
    return [p for p in result.problems if p.record == record and (field is None or p.field == field)]


# Four real places (Seattle, Portland, Boise, Spokane) as (lat, lon).
PLACES = [(47.6062, -122.3321), (45.5152, -122.6784), (43.615, -116.2023), (47.6588, -117.426)]


def test_a_file_wide_swap_is_repaired_with_one_note_for_the_file(tmp_path):
    # The headers say latitude, longitude: the cells hold longitude, latitude.
    rows = [
        f"Clinic {i},,{i} Main St,,Town,WA,98101,,King,{lon},{lat}" for i, (lat, lon) in enumerate(PLACES)
    ]
    result = samhsa.parse(write(tmp_path, rows))
    located = sorted((loc.latitude, loc.longitude) for loc in result.locations)
    assert located == sorted(PLACES)
    file_notes = [p for p in result.problems if p.kind == "file"]
    assert len(file_notes) == 1 and "swapped in the whole file" in file_notes[0].problem
    assert "4 of 4" in file_notes[0].problem
    assert not [p for p in result.problems if p.field == "coordinates"]  # not one note per row


def test_one_plausible_row_means_no_file_repair_and_swapped_rows_are_dropped(tmp_path):
    rows = [
        f"Clinic {i},,{i} Main St,,Town,WA,98101,,King,{lon},{lat}" for i, (lat, lon) in enumerate(PLACES)
    ]
    rows.append("Right way,,9 Main St,,Town,WA,98101,,King,47.6,-122.3")
    result = samhsa.parse(write(tmp_path, rows))
    assert not [p for p in result.problems if p.kind == "file"]
    dropped = [p for p in result.problems if p.field == "coordinates"]
    assert len(dropped) == 4 and all("swapped" in p.problem and p.action == "rejected" for p in dropped)
    assert [(loc.latitude, loc.longitude) for loc in result.locations if loc.latitude] == [(47.6, -122.3)]


def test_coordinate_order_needs_most_rows_swapped():
    swapped = [(lon, lat) for lat, lon in PLACES]
    assert coordinate_order(swapped) is not None
    # Two swapped, three not numbers at all: not "most rows" of those given, so nothing is repaired.
    assert coordinate_order([*swapped[:1], ("x", "y"), ("", ""), (0, 0), ("100", "200")]) is None
    assert coordinate_order([]) is None


def test_web_mercator_metres_are_converted_to_degrees():
    # Independent: a point's easting is R * lon in radians; its northing R * ln(tan(pi/4 + lat/2)).
    radius = 6378137.0
    lat, lon = 47.6062, -122.3321
    easting = radius * math.radians(lon)
    northing = radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    coords, note = check_coordinates(northing, easting)
    assert coords == pytest.approx((lat, lon), abs=1e-6)
    assert "Web Mercator" in note
    assert from_mercator(0.0, 0.0) == (0.0, 0.0)
    # Metres that land outside the United States are still refused, as projected units.
    coords, reason = check_coordinates(5272000, 1268000)
    assert coords is None and "projected" in reason


def test_zero_zero_is_dropped_with_a_note(tmp_path):
    result = samhsa.parse(write(tmp_path, ["Zero,,1 Main St,,Seattle,WA,98101,,King,0,0"]))
    [location] = result.locations
    assert location.latitude is None and location.address.city == "Seattle"
    [note] = [p for p in result.problems if p.field == "coordinates"]
    assert "0,0" in note.problem and note.action == "rejected"


@pytest.mark.parametrize(
    ("zip_code", "state", "dropped"),
    [
        ("30303", "TX", True),  # an Atlanta ZIP on a Texas address
        ("01234", "WA", True),  # a house number "1234" padded into a Massachusetts ZIP
        ("98101", "WA", False),
        ("00901", "PR", False),  # San Juan
        ("96910", "GU", False),  # Hagåtña
        ("96799", "AS", False),  # Pago Pago
        ("73301", "TX", False),  # Austin's IRS ZIP in the 733 block inside Oklahoma's range
        ("20101", "VA", False),
        ("98101", "Washington", False),  # a state name is not checked (kept as given)
    ],
)
def test_zip_against_state(zip_code, state, dropped):
    assert (check_zip_state(zip_code, state) is not None) is dropped


def test_a_zip_of_another_state_is_dropped_and_not_placed(tmp_path):
    rows = [
        "Texas site,,1 Main St,,Houston,TX,30303,,Harris,,",
        "House number,,2 Main St,,Seattle,WA,1234,,King,,",
    ]
    result = samhsa.parse(write(tmp_path, rows))
    postal = {loc.address.city: loc.address.postal_code for loc in result.locations}
    assert postal == {"Houston": None, "Seattle": None}
    zip_notes = [p for p in result.problems if p.field == "postal_code"]
    assert {p.action for p in zip_notes} == {"rejected"}
    assert any("belongs to GA, not TX" in p.problem for p in zip_notes)
    assert any("belongs to MA, not WA" in p.problem for p in zip_notes)


def test_territories_are_accepted(tmp_path):
    rows = [
        "Guam clinic,,1 Marine Corps Dr,,Hagatna,Guam,96910,,,13.4757,144.7489",
        "San Juan clinic,,1 Calle Luna,,San Juan,PR,00901,,,18.4655,-66.1057",
        "Pago Pago clinic,,1 Main Rd,,Pago Pago,AS,96799,,,-14.2756,-170.702",
        "Saint Thomas clinic,,1 Main St,,Charlotte Amalie,VI,00802,,,18.3419,-64.9307",
    ]
    result = samhsa.parse(write(tmp_path, rows))
    assert len(result.locations) == 4
    assert all(loc.latitude is not None for loc in result.locations)
    assert not [p for p in result.problems if p.field in ("coordinates", "postal_code")]
    states = sorted(loc.address.state_province for loc in result.locations)
    assert states == ["AS", "GU", "PR", "VI"]
    # The other way round (a point in Asia), a Guam-like point is still refused.
    assert check_coordinates(13.4757, 104.7489)[0] is None


def test_spellings_of_no_value_are_blank(tmp_path):
    rows = [
        "One,NA,1 Main St,N/A,Seattle,WA,98101,null,King,47.6,-122.3",
        "Two,n/a,2 Main St,-,Seattle,WA,98101,,King,47.6,-122.3",
        "Three,NULL,3 Main St,,Seattle,WA,98101,,King,47.6,-122.3",
        "Four,A real second name,4 Main St,Suite 2,Seattle,WA,98101,,King,47.6,-122.3",
    ]
    result = samhsa.parse(write(tmp_path, rows))
    alternates = {s.name: s.alternate_name for s in result.services}
    assert alternates == {"One": None, "Two": None, "Three": None, "Four": "A real second name"}
    seconds = sorted(str(loc.address.address_2) for loc in result.locations)
    assert seconds == ["None", "None", "None", "Suite 2"]


def test_bare_http_is_no_website(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text(
        "Program,Site,Town,St,Zip,Web\n"
        "Food bank,1 Main St,Seattle,WA,98101,http://\n"
        "Legal clinic,2 Main St,Seattle,WA,98101,https://legal.example.org\n",
        encoding="utf-8",
    )
    mapping = {
        "columns": {"name": "program", "address_1": "SITE", "city": "town", "state": "st", "zip": "zip"},
        "domain": "food",
    }
    mapping["columns"]["url"] = "web"
    result = generic_csv.parse(path, mapping)
    urls = {s.name: s.url for s in result.services}
    assert urls == {"Food bank": None, "Legal clinic": "https://legal.example.org"}
    assert not [p for p in result.problems if p.field == "url"]


def test_column_names_in_any_case(tmp_path):
    header = "name1,name2,street1,street2,city,state,zip,zip4,county,LATITUDE,LONGITUDE\n"
    result = samhsa.parse(write(tmp_path, ["Upper,,1 Main St,,Seattle,WA,98101,,King,47.61,-122.33"], header))
    [location] = result.locations
    assert (location.latitude, location.longitude) == (47.61, -122.33)


def test_hud_real_file_has_no_file_wide_swap():
    path = shared("hud_coc_2018", "coc_sites_2018_public.csv")
    result = hud.parse(path)
    assert not [p for p in result.problems if p.kind == "file" and "swapped" in p.problem]
    rows = read_rows(path)
    with_points = sum(1 for r in rows if r["Latitude"].strip() and r["Longitude"].strip())
    located = sum(1 for loc in result.locations if loc.latitude is not None)
    assert located > 0.9 * with_points


def test_samhsa_real_file_swapped_is_repaired_as_a_whole(tmp_path):
    """The national file with its two coordinate headers swapped: every point survives (one file note)."""
    path = shared("samhsa_treatment_2018", "SAMHSA_Nationwide_Substance_Use_Treatment_Data.csv")
    first, rest = path.read_bytes().split(b"\n", 1)
    assert first.strip().endswith(b"latitude,longitude")
    swapped = tmp_path / "swapped.csv"
    swapped.write_bytes(first.strip()[: -len(b"latitude,longitude")] + b"longitude,latitude\n" + rest)
    original, repaired = samhsa.parse(path), samhsa.parse(swapped)
    points = {loc.source_id: (loc.latitude, loc.longitude) for loc in original.locations}
    again = {loc.source_id: (loc.latitude, loc.longitude) for loc in repaired.locations}
    assert again == points
    assert len([p for p in repaired.problems if p.kind == "file" and "swapped" in p.problem]) == 1
