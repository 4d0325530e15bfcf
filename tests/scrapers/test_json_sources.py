"""JSON sources with a mapping: JSON lines, GeoJSON feature collections and vendor API responses, read
through the same mapping file as a spreadsheet with fields named by dotted path; messy records noted or
rejected one by one, a wrong mapping or an unreadable file stopped whole, nothing ever half-read."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scrapers import generic_csv, json_source
from scrapers.common import SourceError
from scrapers.registry import parse_source

from .test_safe_fetch import ROBOTS_ALL, serve

# Real places as (lat, lon): Seattle, Portland.
SEATTLE, PORTLAND = (47.6062, -122.3321), (45.5152, -122.6784)

NESTED = {
    "columns": {
        "id": "id",
        "name": "name",
        "latitude": "location.lat",
        "longitude": "location.lon",
        "address_1": "location.address.street",
        "city": "location.address.city",
        "state": "location.address.state",
        "zip": "location.address.zip",
        "phone": "phones[0].number",
        "languages": "languages",
    },
    "domain": "food",
}


def jsonl(tmp_path, records, name="feed.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def record(i, lat_lon=SEATTLE, **extra):
    data = {
        "id": f"s{i}",
        "name": f"Pantry {i}",
        "location": {
            "lat": lat_lon[0],
            "lon": lat_lon[1],
            "address": {"street": f"{i} Main St", "city": "Seattle", "state": "WA", "zip": "98101"},
        },
        "phones": [{"number": "206-555-0100", "type": "voice"}, {"number": "206-555-0199"}],
        "languages": ["English", "Spanish"],
    }
    data.update(extra)
    return data


def test_json_lines_with_dotted_paths(tmp_path):
    result = json_source.parse(jsonl(tmp_path, [record(1), record(2, PORTLAND)]), NESTED)
    services = {s.source_id: s for s in result.services}
    assert sorted(services) == ["s1", "s2"]
    assert services["s1"].phones[0].number == "206-555-0100"
    assert {lang.code for lang in services["s1"].languages} == {"en", "es"}
    points = {loc.source_id: (loc.latitude, loc.longitude) for loc in result.locations}
    assert points == {"s1": SEATTLE, "s2": PORTLAND}
    assert result.locations[0].address.address_1 == "1 Main St"
    assert [p for p in result.problems if p.action == "rejected"] == []


def test_geojson_feature_collection(tmp_path):
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"OBJECTID": n, "Name": f"Shelter {n}", "Beds": 10 * n},
        }
        for n, (lat, lon) in enumerate((SEATTLE, PORTLAND), start=1)
    ]
    path = tmp_path / "shelters.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    mapping = {
        "columns": {
            "id": "properties.OBJECTID",
            "name": "properties.name",  # found whatever its case (the file says "Name")
            "latitude": "geometry.coordinates[1]",
            "longitude": "geometry.coordinates[0]",
            "maximum": "properties.Beds",
        },
        "domain": "housing",
        "unit": "bed",
    }
    result = json_source.parse(path, mapping)
    assert [s.name for s in result.services] == ["Shelter 1", "Shelter 2"]
    assert [(loc.latitude, loc.longitude) for loc in result.locations] == [SEATTLE, PORTLAND]
    assert [s.capacity.maximum for s in result.services] == [10, 20]
    assert all(loc.precision == "approximate" for loc in result.locations)  # no street address given


def test_vendor_response_needs_its_records_path(tmp_path):
    path = tmp_path / "api.json"
    response = {"meta": {"page": 1, "total": 2}, "data": {"items": [record(1), record(2, PORTLAND)]}}
    path.write_text(json.dumps(response), encoding="utf-8")
    with pytest.raises(SourceError) as refused:
        json_source.parse(path, NESTED)
    assert "records: PATH" in str(refused.value) and "data.items" in str(refused.value)
    result = json_source.parse(path, {**NESTED, "records": "data.items"})
    assert [s.source_id for s in result.services] == ["s1", "s2"]
    with pytest.raises(SourceError, match=r"records path 'data.itemz' is not in the file; .*data.items"):
        json_source.parse(path, {**NESTED, "records": "data.itemz"})
    with pytest.raises(SourceError, match="records path 'meta' is an object, not a list"):
        json_source.parse(path, {**NESTED, "records": "meta"})


def test_the_same_mapping_file_reads_a_spreadsheet_and_json_alike(tmp_path):
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(
        yaml.safe_dump(
            {
                "columns": {
                    "id": "id",
                    "name": "name",
                    "latitude": "lat",
                    "longitude": "lon",
                    "phone": "phone",
                },
                "domain": "food",
            }
        ),
        encoding="utf-8",
    )
    rows = [("a", "Pantry A", *SEATTLE, "(206) 555-0100"), ("b", "Pantry B", *PORTLAND, "503 555 0101")]
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("id,name,lat,lon,phone\n" + "".join(f"{a},{b},{c},{d},{e}\n" for a, b, c, d, e in rows))
    lines = jsonl(tmp_path, [dict(zip(("id", "name", "lat", "lon", "phone"), r, strict=True)) for r in rows])

    def essence(result):
        return [
            (s.source_id, s.name, s.phones, (loc.latitude, loc.longitude))
            for s, loc in zip(result.services, result.locations, strict=True)
        ]

    from_csv = generic_csv.parse(sheet, mapping_file)
    from_json = parse_source("json", str(lines), str(mapping_file))
    assert essence(from_json) == essence(from_csv)
    assert essence(from_json)[0][2][0].number == "206-555-0100"


def test_messy_records_are_noted_or_rejected_one_by_one(tmp_path):
    path = tmp_path / "messy.jsonl"
    lines = [
        json.dumps(record(1)),
        json.dumps({"id": "s2", "name": "No place keys", "phones": None}),  # missing keys, a null
        json.dumps(record(3, location="Seattle")),  # wrong type: text where an object is due
        json.dumps(record(4, phones=[[{"number": "206-555-0100"}]])),  # nested arrays
        json.dumps(record(5, phones=[{"number": {"digits": "2065550100"}}])),  # an object for a value
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps(record(8)) + ",",  # a trailing comma: forgiven
        json.dumps(record(9, languages=[{"code": "en"}])),  # a list of objects for a value
        json.dumps({"ID": "s10", "NAME": "Upper case keys", "Location": {"LAT": 47.6, "lon": -122.3}}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = json_source.parse(path, {**NESTED, "no_location": True})
    kept = {s.source_id: s for s in result.services}
    assert sorted(kept) == ["s1", "s10", "s2", "s3", "s4", "s5", "s8", "s9"]
    rejected = {p.where: p.problem for p in result.problems if p.action == "rejected" and p.field is None}
    assert rejected["messy.jsonl:6"].startswith("line is not JSON")
    assert rejected["messy.jsonl:7"] == "record is a list, not an object"
    assert len(rejected) == 2
    dropped = {(p.record, p.field): p.problem for p in result.problems if p.action == "rejected" and p.field}
    assert dropped[("s3", "latitude")] == "location.lat: location is text, not an object: left out"
    assert dropped[("s4", "phone")] == "phones[0].number: phones[0] is a list, not an object: left out"
    assert dropped[("s5", "phone")] == "phones[0].number: an object, not a value: left out"
    assert dropped[("s9", "languages")] == "languages: a list of objects or lists, not a value: left out"
    assert kept["s3"].location_ids == () and kept["s3"].phones[0].number == "206-555-0100"
    assert kept["s2"].phones == () and kept["s2"].location_ids == ()
    assert kept["s10"].name == "Upper case keys"
    points = {loc.source_id: (loc.latitude, loc.longitude) for loc in result.locations}
    assert points["s10"] == (47.6, -122.3) and points["s8"] == SEATTLE
    outcome = result.outcome("service")
    assert outcome["read"] == 10 == outcome["kept"] + outcome["rejected"] + outcome["merged"]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"name": "nmae"}, "path 'nmae' (for name) is in no record; did you mean 'name'?"),
        ({"name": "name..x"}, "the mapping's path for name: 'name..x' is not a dotted path"),
        ({"name": "name", "phone": 5}, "the mapping's path for phone must be text"),
    ],
)
def test_a_wrong_path_stops_the_file_naming_the_closest(tmp_path, columns, message):
    with pytest.raises(SourceError) as refused:
        json_source.parse(jsonl(tmp_path, [record(1)]), {"columns": columns, "domain": "food"})
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json at all", "feed.json: not JSON and not JSON lines"),
        ('{"a": {"b": 1}}', "one JSON object: say where its records are"),
        ('{"type": "FeatureCollection", "features": 3}', "whose `features` is not a list"),
        ("42", "a JSON a number holds no records"),
    ],
)
def test_a_file_that_is_not_a_json_source_stops_whole(tmp_path, text, message):
    path = tmp_path / "feed.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError) as refused:
        json_source.parse(path, NESTED)
    assert message in str(refused.value)


def test_an_optional_path_in_no_record_is_one_note_for_the_file(tmp_path):
    mapping = {"columns": {"name": "name", "phone": "phones[0].numbr", "email": "email"}, "domain": "food"}
    result = json_source.parse(jsonl(tmp_path, [record(1), record(2)]), {**mapping, "no_location": True})
    assert [s.source_id for s in result.services] and all(s.phones == () for s in result.services)
    file_notes = [p.problem for p in result.problems if p.kind == "file"]
    assert len(file_notes) == 2
    assert file_notes[0].startswith(
        "path 'phones[0].numbr' (for phone) is in no record; did you mean 'phones[0].number'"
    )
    assert file_notes[0].endswith(": read as blank") and file_notes[1].startswith("path 'email' (for email)")


def test_a_one_line_json_lines_file_is_one_record(tmp_path):
    result = json_source.parse(jsonl(tmp_path, [record(1)]), NESTED)
    assert [s.source_id for s in result.services] == ["s1"]


def test_the_csv_importer_refuses_a_records_key():
    with pytest.raises(SourceError, match="is for the json importer"):
        generic_csv.load_mapping({**NESTED, "records": "data"})


def test_a_file_wide_swap_is_repaired_or_refused_as_for_a_spreadsheet(tmp_path):
    swapped = [record(1, (SEATTLE[1], SEATTLE[0])), record(2, (PORTLAND[1], PORTLAND[0]))]
    for r in swapped:
        del r["location"]["address"]
    path = jsonl(tmp_path, swapped)
    result = parse_source("json", str(path), NESTED, swap_coordinates="auto")
    assert [(loc.latitude, loc.longitude) for loc in result.locations] == [SEATTLE, PORTLAND]
    with pytest.raises(SourceError, match="--swap-coordinates auto"):
        parse_source("json", str(path), NESTED, swap_coordinates="no")


def test_a_url_is_fetched_safely(tmp_path):
    body = json.dumps({"data": [record(1)]}).encode()
    routes = {"/robots.txt": ROBOTS_ALL, "/api/services": (200, {"Content-Type": "application/json"}, body)}
    mapping = {**NESTED, "records": "data"}
    with serve(routes) as (base, log):
        with pytest.raises(SourceError, match="loopback, private"):
            json_source.parse(f"{base}/api/services", mapping)
        result = json_source.parse(f"{base}/api/services", mapping, allow=(base,))
    assert [s.source_id for s in result.services] == ["s1"]
    assert "/api/services" in log and "/robots.txt" in log


def test_a_wrong_mapping_stops_before_anything_is_fetched(tmp_path):
    with serve({"/robots.txt": ROBOTS_ALL}) as (base, log), pytest.raises(SourceError, match="unknown key"):
        json_source.parse(f"{base}/x", {**NESTED, "recrods": "data"}, allow=(base,))
    assert log == []


_scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
JSON = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "name", "location", "lat", "lon", "phones", "number"]), inner
        )
    ),
    max_leaves=25,
)
MAPPINGS = st.fixed_dictionaries(
    {
        "columns": st.fixed_dictionaries(
            {"name": st.sampled_from(["name", "location.name", "phones[0]"])},
            optional={
                "id": st.sampled_from(["id", "phones[1].number"]),
                "latitude": st.just("location.lat"),
                "longitude": st.just("location.lon"),
                "phone": st.sampled_from(["phones[0].number", "number", "phones"]),
            },
        ),
        "domain": st.just("food"),
        "no_location": st.booleans(),
    }
).filter(lambda m: ("latitude" in m["columns"]) == ("longitude" in m["columns"]))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(records=st.lists(JSON, max_size=6), mapping=MAPPINGS, lines=st.booleans())
def test_any_json_is_read_or_refused_whole_never_a_crash(records, mapping, lines):
    text = "\n".join(json.dumps(r) for r in records) if lines else json.dumps(records)
    try:
        result = json_source.parse_text(text, "fuzz.json", mapping)
    except SourceError:
        return  # refused whole: the writer is never called, so nothing is written (see the db test)
    outcome = result.outcome("service")
    assert outcome["read"] == outcome["kept"] + outcome["rejected"] + outcome["merged"]
    assert {s.source_id for s in result.services} >= {loc.source_id for loc in result.locations}
