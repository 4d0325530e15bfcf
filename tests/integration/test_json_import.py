"""`flask scrape run json`: a JSON source with a mapping goes through the same writer as a spreadsheet; a
file refused whole writes nothing, whatever its content."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from directory.domain.imports import run_import
from directory.models import ImportRun, Location, Organization, Service
from scrapers.common import SourceError
from scrapers.registry import parse_source
from tests.conftest import FIXED_NOW

pytestmark = pytest.mark.db

MAPPING = {
    "columns": {
        "id": "id",
        "name": "attributes.title",
        "latitude": "geo.lat",
        "longitude": "geo.lng",
        "phone": "contacts[0].phone",
    },
    "records": "results",
    "domain": "food",
}


def _written(session) -> tuple[int, int, int]:
    return tuple(
        session.scalar(select(func.count()).select_from(m)) for m in (Service, Location, Organization)
    )


def test_cli_imports_a_vendor_response(runner, session, tmp_path):
    mapping = tmp_path / "vendor.yaml"
    mapping.write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    feed = tmp_path / "vendor.json"
    feed.write_text(
        json.dumps(
            {
                "count": 2,
                "results": [
                    {
                        "id": 7,
                        "attributes": {"title": "Harbor Pantry"},
                        "geo": {"lat": 47.6062, "lng": -122.3321},
                        "contacts": [{"phone": "206 555 0100"}],
                    },
                    {"id": 8, "attributes": {"title": None}, "geo": None},
                ],
            }
        ),
        encoding="utf-8",
    )
    out = runner.invoke(args=["scrape", "run", "json", str(feed), "--mapping", str(mapping)])
    assert out.exit_code == 0, out.output
    [service] = session.scalars(select(Service)).all()
    assert service.name == "Harbor Pantry" and service.source_id == "7"
    location = session.scalars(select(Location)).one()
    assert (float(location.latitude), float(location.longitude)) == (47.6062, -122.3321)
    assert "vendor.json$.results[1]" in json.dumps(session.scalars(select(ImportRun)).one().problems)


def test_cli_a_wrong_records_path_exits_1_and_writes_nothing(runner, session, tmp_path):
    mapping = tmp_path / "vendor.yaml"
    mapping.write_text(yaml.safe_dump({**MAPPING, "records": "result"}), encoding="utf-8")
    feed = tmp_path / "vendor.json"
    feed.write_text(json.dumps({"results": [{"id": 1, "attributes": {"title": "x"}}]}), encoding="utf-8")
    out = runner.invoke(args=["scrape", "run", "json", str(feed), "--mapping", str(mapping)])
    assert out.exit_code == 1
    assert "records path 'result' is not in the file; lists of records in the file: results" in out.output
    assert _written(session) == (0, 0, 0)


_scalars = st.none() | st.booleans() | st.integers(-5, 100) | st.floats(-200, 200) | st.text(max_size=6)
JSON = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "attributes", "title", "geo", "lat", "lng", "contacts"]), inner
        )
    ),
    max_leaves=20,
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(results=JSON)
def test_any_response_imports_or_stops_and_a_stop_writes_nothing(session, tmp_path_factory, results):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "feed.json"
    path.write_text(json.dumps({"results": results}), encoding="utf-8")
    before = _written(session)
    try:
        run_import(session, "fuzz", str(path), lambda: parse_source("json", str(path), MAPPING), FIXED_NOW)
    except SourceError:
        assert _written(session) == before
        return
    kept = session.scalar(select(func.count()).select_from(Service).where(Service.source == "fuzz"))
    assert kept <= (len(results) if isinstance(results, list) else 0)
