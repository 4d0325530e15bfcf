"""`--swap-coordinates`: a file-wide latitude/longitude swap is read the other way round with one note by
default (auto), or the whole file is refused with one message naming the option (no)."""

from __future__ import annotations

import pytest

from scrapers import generic_csv, hud, samhsa
from scrapers.common import SourceError
from scrapers.registry import parse_source

HEADER = "name1,name2,street1,street2,city,state,zip,zip4,county,latitude,longitude\n"
# Four real places as (lat, lon): Seattle, Portland, Boise, Spokane.
PLACES = [(47.6062, -122.3321), (45.5152, -122.6784), (43.615, -116.2023), (47.6588, -117.426)]


def samhsa_file(tmp_path, swapped: bool):
    rows = [
        f"Clinic {i},,{i} Main St,,Town,WA,98101,,King,{lon if swapped else lat},{lat if swapped else lon}"
        for i, (lat, lon) in enumerate(PLACES)
    ]
    path = tmp_path / "samhsa.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_auto_reads_the_swapped_file_the_other_way_round_with_one_note(tmp_path):
    result = parse_source("samhsa", str(samhsa_file(tmp_path, swapped=True)), swap_coordinates="auto")
    assert sorted((loc.latitude, loc.longitude) for loc in result.locations) == sorted(PLACES)
    file_notes = [p for p in result.problems if p.kind == "file"]
    assert len(file_notes) == 1 and "swapped in the whole file" in file_notes[0].problem


def test_no_refuses_the_swapped_file_with_one_message_naming_the_option(tmp_path):
    with pytest.raises(SourceError) as refused:
        parse_source("samhsa", str(samhsa_file(tmp_path, swapped=True)), swap_coordinates="no")
    message = str(refused.value)
    assert message.startswith("samhsa.csv: latitude and longitude are swapped in the whole file (4 of 4")
    assert "--swap-coordinates auto" in message and "nothing was written" in message


def test_no_reads_a_file_in_the_right_order_as_usual(tmp_path):
    result = samhsa.parse(samhsa_file(tmp_path, swapped=False), swap="no")
    assert sorted((loc.latitude, loc.longitude) for loc in result.locations) == sorted(PLACES)
    assert not [p for p in result.problems if p.kind == "file"]


def test_every_flat_importer_refuses_with_no(tmp_path):
    hud_path = tmp_path / "hud.csv"
    hud_path.write_text(
        "ID,STATE,ADDRESS,city,zip,Longitude,Latitude,total_beds\n"
        + "".join(
            f"h{i},WA,{i} Main St,Seattle,98101,{lat},{lon},10\n" for i, (lat, lon) in enumerate(PLACES)
        ),
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="--swap-coordinates"):
        hud.parse(hud_path, swap="no")
    assert len(hud.parse(hud_path).locations) == 4
    csv_path = tmp_path / "sheet.csv"
    csv_path.write_text(
        "Program,Lat,Lon\n" + "".join(f"P{i},{lon},{lat}\n" for i, (lat, lon) in enumerate(PLACES)),
        encoding="utf-8",
    )
    mapping = {"columns": {"name": "Program", "latitude": "Lat", "longitude": "Lon"}, "domain": "food"}
    with pytest.raises(SourceError, match="--swap-coordinates"):
        generic_csv.parse(csv_path, mapping, swap="no")
    repaired = generic_csv.parse(csv_path, mapping)
    assert sorted((loc.latitude, loc.longitude) for loc in repaired.locations) == sorted(PLACES)


def test_the_option_is_refused_where_it_means_nothing_and_a_wrong_value_is_named(tmp_path):
    with pytest.raises(SourceError, match="for the importers that read flat files"):
        parse_source("hsds", str(tmp_path), swap_coordinates="no")
    with pytest.raises(SourceError, match="takes auto or no, not 'yes'"):
        parse_source("samhsa", str(samhsa_file(tmp_path, swapped=True)), swap_coordinates="yes")
