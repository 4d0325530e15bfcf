"""A mapping is checked whole before a row is read: keys, domains, paired fields, columns (any case),
and every wrong name is answered with the closest right ones."""

from __future__ import annotations

import pytest

from scrapers import generic_csv, html
from scrapers.common import SourceError

CSV = "Program,Street,City,State,ZIP,Lat,Lon,Kind\nPantry,1 Main St,Seattle,WA,98104,,,Food\n"


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def parse(path, **mapping):
    return generic_csv.parse(path, {"columns": {"name": "Program"}, "domain": "food", **mapping})


def test_a_misspelt_domain_stops_before_any_row_with_the_right_name(sheet):
    with pytest.raises(
        SourceError, match=r"'mental_helth' is not an IIP domain; did you mean 'mental_health'"
    ):
        parse(sheet, domain="mental_helth")
    with pytest.raises(
        SourceError, match=r"domain_values\['Food'\] 'fod' is not an IIP domain; did you mean 'food'"
    ):
        generic_csv.parse(
            sheet, {"columns": {"name": "Program"}, "domain_column": "Kind", "domain_values": {"Food": "fod"}}
        )


def test_a_mapping_without_any_domain_is_refused(sheet):
    with pytest.raises(SourceError, match="`domain` for every row or a `domain_column`"):
        generic_csv.parse(sheet, {"columns": {"name": "Program"}})


@pytest.mark.parametrize(("given", "missing"), [("latitude", "longitude"), ("longitude", "latitude")])
def test_half_a_pair_is_one_clear_error(sheet, given, missing):
    columns = {"name": "Program", given: "Lat"}
    with pytest.raises(SourceError, match=f"gives '{given}' without '{missing}'"):
        generic_csv.parse(sheet, {"columns": columns, "domain": "food"})


def test_columns_are_found_whatever_their_case_and_a_wrong_one_names_the_closest(sheet):
    result = parse(
        sheet, columns={"name": "program", "address_1": " STREET ", "city": "city", "state": "State"}
    )
    assert [s.name for s in result.services] == ["Pantry"]
    assert result.locations[0].address.address_1 == "1 Main St"
    with pytest.raises(
        SourceError, match=r"column 'Progam' \(for name\) is not in the file; did you mean 'Program'"
    ):
        parse(sheet, columns={"name": "Progam"})
    with pytest.raises(SourceError, match=r"sheet.csv: column 'Hours' \(for hours\) is not in the file"):
        parse(sheet, columns={"name": "Program", "hours": "Hours"})


def test_unknown_keys_and_fields_are_named_with_a_suggestion(sheet):
    with pytest.raises(SourceError, match=r"unknown key 'domian'; did you mean 'domain'"):
        generic_csv.parse(sheet, {"columns": {"name": "Program"}, "domain": "food", "domian": "food"})
    with pytest.raises(SourceError, match=r"unknown field 'adress_1'; did you mean 'address_1'"):
        parse(sheet, columns={"name": "Program", "adress_1": "Street"})


def test_hours_columns_are_checked_like_the_others(sheet):
    with pytest.raises(SourceError, match=r"hours_columns\[0\]\.opens"):
        parse(sheet, hours_columns=[{"day": "Monday", "opens": "Open", "closes": "Close"}])
    with pytest.raises(SourceError, match="hours_columns must be a list"):
        parse(sheet, hours_columns=[{"day": "Monday", "opens": "Open"}])


def test_selectors_files_are_checked_the_same_way():
    base = {"item": "div", "fields": {"name": "h2"}, "domain": "housing"}
    assert html.load_selectors(base) == base
    with pytest.raises(SourceError, match="did you mean 'housing'"):
        html.load_selectors({**base, "domain": "housng"})
    with pytest.raises(SourceError, match="gives 'latitude' without 'longitude'"):
        html.load_selectors({**base, "fields": {"name": "h2", "latitude": ".lat"}})
    with pytest.raises(SourceError, match="unknown key 'organisation'; did you mean 'organization'"):
        html.load_selectors({**base, "organisation": "x"})


def test_free_places_without_a_maximum_are_refused_in_a_spreadsheet_but_read_on_a_page(sheet):
    with pytest.raises(SourceError, match="gives 'available' without 'maximum'"):
        parse(sheet, columns={"name": "Program", "available": "Kind"})
    page = {"item": "div", "fields": {"name": "h2", "available": ".open"}, "domain": "housing"}
    assert html.load_selectors(page) == page  # a page's free places alone are its maximum too
