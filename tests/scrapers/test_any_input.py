"""Any input, no traceback: every importer on arbitrary JSON, CSV or bytes returns records or stops with a
SourceError that names the file; the issue's examples are read or refused with their JSON path."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrapers.common import SourceError
from scrapers.records import ParseResult
from scrapers.registry import parse_source

COLUMNS = {"name": "name", "address_1": "street", "city": "city", "zip": "zip"}
MAPPING = {"columns": COLUMNS, "domain": "food"}
HSDS_KEYS = [
    "id",
    "name",
    "services",
    "phones",
    "languages",
    "required_documents",
    "schedules",
    "organization",
    "locations",
    "addresses",
    "service_at_locations",
    "location",
    "service",
    "latitude",
    "longitude",
    "capacities",
    "unit",
    "attributes",
    "taxonomy_term",
    "contents",
    "byday",
    "opens_at",
    "closes_at",
    "freq",
    "number",
    "language",
    "document",
    "address_1",
    "city",
    "postal_code",
    "status",
]
_scalars = (
    st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=True) | st.text(max_size=12)
)
JSON = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(HSDS_KEYS), inner, max_size=6)
    ),
    max_leaves=30,
)
CELLS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=15)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _parse(source: str, path: Path, mapping=None):
    try:
        result = parse_source(source, str(path), mapping)
    except SourceError as exc:
        assert str(exc)  # a message, never an empty one
        return None
    assert isinstance(result, ParseResult)
    # A lazy parse builds its services here: that must not raise either.
    result.services = [service for chunk in result.chunks(100) for service in chunk]
    result.pending = None
    return result


@SETTINGS
@given(JSON)
def test_hsds_json_any_shape(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        _parse("hsds", path)


@SETTINGS
@given(st.lists(JSON, max_size=4))
def test_hsds_json_lines_any_shape(lines):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.jsonl"
        path.write_text("\n".join(json.dumps(line) + "," for line in lines), encoding="utf-8")
        _parse("hsds", path)


@SETTINGS
@given(st.binary(max_size=300))
def test_hsds_any_bytes(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.json"
        path.write_bytes(data)
        _parse("hsds", path)


HEADERS = {
    "icarol": [
        "ResourceAgencyNum",
        "PublicName",
        "AgencyNamePublic",
        "PhysicalAddress1",
        "PhysicalCity",
        "PhysicalStateProvince",
        "PhysicalPostalCode",
        "Latitude",
        "Longitude",
        "HoursOfOperation",
        "Phone1Number",
        "TaxonomyCodes",
        "LanguagesOffered",
    ],
    "hud-inventory": [
        "ID",
        "STATE",
        "ADDRESS",
        "city",
        "zip",
        "Longitude",
        "Latitude",
        "total_beds",
        "pit_count",
        "year_round_beds",
    ],
    "samhsa": [
        "name1",
        "name2",
        "street1",
        "street2",
        "city",
        "state",
        "zip",
        "zip4",
        "county",
        "latitude",
        "longitude",
    ],
    "csv": ["name", "street", "city", "zip"],
}


@pytest.mark.parametrize("source", list(HEADERS))
@SETTINGS
@given(rows=st.lists(st.lists(CELLS, max_size=14), max_size=5), keep_header=st.booleans())
def test_flat_importers_any_csv(source, rows, keep_header):
    out = io.StringIO()
    writer = csv.writer(out)
    if keep_header:
        writer.writerow(HEADERS[source])
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        path.write_text(out.getvalue(), encoding="utf-8")
        mapping = None
        if source == "csv":
            mapping = Path(folder) / "mapping.json"
            mapping.write_text(json.dumps(MAPPING), encoding="utf-8")
        _parse(source, path, mapping)


@pytest.mark.parametrize("source", list(HEADERS))
@SETTINGS
@given(data=st.binary(max_size=300))
def test_flat_importers_any_bytes(source, data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        path.write_bytes(data)
        mapping = None
        if source == "csv":
            mapping = Path(folder) / "mapping.json"
            mapping.write_text(json.dumps(MAPPING), encoding="utf-8")
        _parse(source, path, mapping)


def _problems(result):
    return [(p.where, p.problem) for p in result.problems]


def test_the_issues_examples_are_read_or_refused_at_their_json_path(tmp_path):
    path = tmp_path / "food.json"
    path.write_text('[{"name":"Food","services":3}]', encoding="utf-8")
    result = _parse("hsds", path)
    assert ("food.json$[0].services", "a number where a list was expected: left out") in _problems(result)
    path = tmp_path / "shapes.json"
    service = {
        "id": "s1",
        "name": "Pantry",
        "organization": {"id": "o1", "name": "Org"},
        "required_documents": "Photo ID",
        "phones": ["206-555-0100"],
        "languages": ["Spanish", "English"],
        "description": "Food pantry with groceries",
    }
    path.write_text(json.dumps([service]), encoding="utf-8")
    result = _parse("hsds", path)
    (pantry,) = result.services
    assert [d.document for d in pantry.documents] == ["Photo ID"]
    assert [p.number for p in pantry.phones] == ["206-555-0100"]
    assert sorted(lang.code for lang in pantry.languages) == ["en", "es"]
    path = tmp_path / "lines.jsonl"
    path.write_text('{"id":"o1","name":"Org","services":["food","shelter"]}\n', encoding="utf-8")
    result = _parse("hsds", path)
    assert ("lines.jsonl$[0].services[0]", "a text where an object was expected: left out") in _problems(
        result
    )


SELECTORS = {
    "item": "div.program",
    "fields": {"name": "h2", "address_1": ".street", "zip": ".zip", "hours": ".hours", "available": ".open"},
    "domain": "housing",
}
_HTML_PARTS = st.sampled_from(
    ['<div class="program">', "</div>", "<h2>", "</h2>", '<p class="street">', '<p class="zip">', "</p>",
     '<p class="hours">', '<span class="open">', "</span>", "<", ">", "&amp;", "Mon-Fri 9-5", "98104", "12"]
)  # fmt: skip


@SETTINGS
@given(st.lists(_HTML_PARTS | st.text(max_size=8), max_size=30))
def test_html_pages_any_markup(parts):
    from scrapers import html

    result = html.parse_html("".join(parts), html.load_selectors(SELECTORS), "page.html")
    assert isinstance(result, ParseResult)
    kept = result.outcome("service")
    assert kept["read"] == kept["kept"] + kept["merged"] + kept["rejected"]
