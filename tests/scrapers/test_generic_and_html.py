"""The generic spreadsheet importer (column mapping in YAML) and the HTML page scraper (CSS selectors), the
latter fetched from a small HTTP server on 127.0.0.1 with robots.txt, a user agent and a timeout."""

from __future__ import annotations

import contextlib
import threading
import time as clock
from datetime import UTC, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scrapers import generic_csv, html
from scrapers.common import SourceError
from tests.scrapers.helpers import FIXTURES


def rejected(result):
    return {p.record: p.problem for p in result.problems if p.action == "rejected"}


def test_generic_csv_with_yaml_mapping():
    result = generic_csv.parse(FIXTURES / "spreadsheet.csv", FIXTURES / "spreadsheet.yaml")
    services = {s.name: s for s in result.services}
    assert set(services) == {"Harbor Night Shelter", "Eastside Pantry", "Westside Beds"}
    shelter = services["Harbor Night Shelter"]
    assert shelter.primary_domain == "housing"
    assert (shelter.capacity.unit, shelter.capacity.maximum, shelter.capacity.available) == (
        "shelter_bed",
        40,
        3,
    )
    assert shelter.schedules[0].opens_at == time(19) and shelter.schedules[0].closes_at == time(7)
    assert len(shelter.schedules) == 7
    assert (
        services["Eastside Pantry"].primary_domain == "food" and services["Eastside Pantry"].capacity is None
    )
    assert services["Westside Beds"].capacity is None
    assert any("1-45 people" in p for p in rejected(result).values())
    assert any("without a name" in p for p in rejected(result).values())
    locations = {loc.source_id: loc for loc in result.locations}
    assert locations[shelter.source_id].address.state_province == "WA"  # from defaults


def test_generic_csv_mapping_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  name: Program\n  colour: Paint\n")
    with pytest.raises(SourceError, match="unknown field 'colour'"):
        generic_csv.parse(FIXTURES / "spreadsheet.csv", bad)
    missing = tmp_path / "missing.yaml"
    missing.write_text("columns:\n  name: Nope\ndomain: food\n")
    with pytest.raises(SourceError, match="not in"):
        generic_csv.parse(FIXTURES / "spreadsheet.csv", missing)


class Site(BaseHTTPRequestHandler):
    robots = "User-agent: *\nDisallow: /private\n"
    seen_agents: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server API
        Site.seen_agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/robots.txt":
            body, status = self.robots.encode(), 200
        elif self.path in ("/beds", "/private/beds"):
            body, status = (FIXTURES / "provider_page.html").read_bytes(), 200
        elif self.path == "/slow":
            clock.sleep(3)
            body, status = b"late", 200
        else:
            body, status = b"not here", 404
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Site.seen_agents = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_html_page_over_http(site):
    result = html.parse(f"{site}/beds", FIXTURES / "provider_page.yaml", [site])
    services = {s.source_id: s for s in result.services}
    assert set(services) == {"men", "women"}
    men = services["men"].capacity
    assert (men.unit, men.maximum, men.available, men.waitlist) == ("shelter_bed", 40, 4, None)
    assert men.updated == datetime(2026, 11, 24, 17, 30, tzinfo=UTC)
    assert services["women"].capacity is None
    assert any("call us" in p for p in rejected(result).values())
    assert any("no name" in p for p in rejected(result).values())
    assert all("lead-directory-importer" in agent for agent in Site.seen_agents)
    assert services["men"].description == "Walk in after 7 pm."


def test_html_robots_txt_is_respected(site):
    with pytest.raises(SourceError, match="robots.txt"):
        html.parse(f"{site}/private/beds", FIXTURES / "provider_page.yaml", [site])


def test_html_timeout_and_http_errors(site):
    with pytest.raises(SourceError, match="cannot fetch"):
        html.parse(f"{site}/slow", FIXTURES / "provider_page.yaml", [site])
    with pytest.raises(SourceError, match="404"):
        html.parse(f"{site}/gone", FIXTURES / "provider_page.yaml", [site])
