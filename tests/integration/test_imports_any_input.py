"""Any input through `flask scrape run`: exit 0 or 1, a message naming the file and the first wrong place,
never a traceback, and nothing written when it stops."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from directory.domain.imports import run_import
from directory.extensions import db
from directory.models import ImportRun, Location, Organization, Service
from scrapers.common import SourceError
from scrapers.registry import parse_source
from tests.conftest import FIXED_NOW

pytestmark = pytest.mark.db


def _written(session) -> tuple[int, int, int]:
    return tuple(
        session.scalar(select(func.count()).select_from(m)) for m in (Service, Location, Organization)
    )


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["scrape", "run", *map(str, args)])


@pytest.mark.parametrize(
    ("text", "first_place"),
    [
        ('[{"name":"Food","services":3}]', "food.json$[0].services"),
        ('{"id":"o1","name":"Org","services":["food"]}\n', "food.json$[0].services[0]"),
        ("{not json at all", "food.json:1"),
        ("\x00\x01\x02", "food.json"),
    ],
)
def test_the_issues_inputs_end_with_a_message_and_exit_1_writing_nothing(app, tmp_path, text, first_place):
    path = tmp_path / "food.json"
    path.write_text(text, encoding="utf-8")
    out = _cli(app, "hsds", path)
    assert out.exit_code == 1, out.output
    assert "Traceback" not in out.output and isinstance(out.exception, SystemExit)
    assert "food.json" in out.output
    with app.app_context():
        assert _written(db.session) == (0, 0, 0)
        runs = db.session.scalars(select(ImportRun)).all()
        assert all(r.status == "failed" for r in runs)
    assert first_place in out.output


def test_a_crash_inside_an_importer_is_a_message_not_a_traceback(app, tmp_path, monkeypatch):
    path = tmp_path / "rows.csv"
    path.write_text("name\nx\n", encoding="utf-8")

    def broken(*args, **kwargs):
        raise AttributeError("'str' object has no attribute 'get'")

    monkeypatch.setattr("scrapers.samhsa.parse", broken)
    out = _cli(app, "samhsa", path)
    assert out.exit_code == 1
    assert "rows.csv" in out.output and "AttributeError" in out.output and "nothing was written" in out.output
    assert "Traceback" not in out.output


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
_scalars = st.none() | st.booleans() | st.integers(-5, 100) | st.text(max_size=10)
JSON = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "name", "services", "phones", "organization", "location"]), inner
        )
    ),
    max_leaves=20,
)


@SETTINGS
@given(data=JSON)
def test_any_json_imports_or_stops_and_a_stop_writes_nothing(session, tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "feed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    before = _written(session)
    try:
        run_import(session, "fuzz", str(path), lambda: parse_source("hsds", str(path)), FIXED_NOW)
    except SourceError:
        assert _written(session) == before
