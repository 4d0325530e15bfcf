"""Geocoding imported locations: offline ZIP centroids (approximate), and a Nominatim-like HTTP server on
127.0.0.1 answering, failing, timing out and rate-limiting; answers are cached by normalized address."""

from __future__ import annotations

import contextlib
import json
import threading
import time as clock
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from directory.extensions import db
from directory.geocoding import address_key, geocode_pending
from directory.models import Address, GeocodeCache, Location, Organization
from tests.conftest import make_app

pytestmark = pytest.mark.db


class Nominatim(BaseHTTPRequestHandler):
    calls: list[str] = []
    agents: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server API
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("q", [""])[0]
        Nominatim.calls.append(query)
        Nominatim.agents.append(self.headers.get("User-Agent", ""))
        if "Broken" in query:
            return self._send(500, b"oops")
        if "Busy" in query:
            return self._send(429, b"slow down")
        if "Slow" in query:
            clock.sleep(1.5)
        if "Nowhere" in query:
            return self._send(200, b"[]")
        body = [
            {
                "lat": "47.6062",
                "lon": "-122.3321",
                "display_name": query,
                "place_id": 1,
                "osm_type": "node",
                "osm_id": 1,
                "boundingbox": ["47.6", "47.7", "-122.4", "-122.3"],
                "importance": 0.5,
            }
        ]
        return self._send(200, json.dumps(body).encode())

    def _send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def nominatim():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Nominatim)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Nominatim.calls, Nominatim.agents = [], []
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def add_locations(session, streets, zip_code="98104", confidential=False):
    org = Organization(name="Harbor Light Shelter Society")
    session.add(org)
    ids = []
    for street in streets:
        location = Location(organization=org, confidential=confidential)
        if street is not None:
            location.address = Address(
                address_1=street, city="Seattle", state_province="WA", postal_code=zip_code
            )
        session.add(location)
        session.flush()
        ids.append(location.id)
    session.commit()
    return ids


def placed(session, location_id):
    session.expire_all()
    location = session.get(Location, location_id)
    return location.latitude, location.longitude, location.precision


def test_offline_places_addresses_at_their_zip_centroid_as_approximate(app, session):
    ids = add_locations(session, ["100 Harbor Way"])
    (blank,) = add_locations(session, [None])
    (secret,) = add_locations(session, ["1 Hidden St"], confidential=True)
    counts = geocode_pending(session, app.config)
    assert counts["placed"] == 1
    lat, lon, precision = placed(session, ids[0])
    assert precision == "approximate" and lat == pytest.approx(47.6, abs=0.1)
    assert placed(session, blank)[0] is None  # no address: never a guessed point
    assert placed(session, secret)[0] is None


def nominatim_app(database_url, domain, **extra):
    config = {
        "GEOCODER": "nominatim",
        "GEOCODER_DOMAIN": domain,
        "GEOCODER_USER_AGENT": "lead-test-agent",
        "GEOCODER_ERROR_WAIT": 0.05,
        "GEOCODER_TIMEOUT": 0.5,
    }
    config.update(extra)
    return make_app(database_url, **config)


def test_nominatim_answers_are_cached_by_normalized_address(database_url, nominatim):
    app = nominatim_app(database_url, nominatim)
    with app.app_context():
        session = db.session
        ids = add_locations(session, ["100 Harbor Way", "100  HARBOR way.", "9 Nowhere Lane"])
        counts = geocode_pending(session, app.config)
        assert (counts["placed"], counts["not_found"], counts["failed"]) == (2, 1, 0)
        assert placed(session, ids[0]) == (47.6062, -122.3321, "exact")
        assert len(Nominatim.calls) == 2  # the second spelling of the same address came from the cache
        assert all(agent == "lead-test-agent" for agent in Nominatim.agents)
        assert session.get(GeocodeCache, address_key("9 Nowhere Lane, Seattle, WA 98104")).latitude is None
        again = geocode_pending(session, app.config)
        assert again["placed"] == 0 and len(Nominatim.calls) == 2  # "not found" is cached too
        db.session.remove()
        db.engine.dispose()


def test_errors_timeouts_and_rate_limits_leave_locations_pending(database_url, nominatim):
    app = nominatim_app(database_url, nominatim)
    with app.app_context():
        session = db.session
        broken, slow, busy, later = add_locations(
            session, ["1 Broken Rd", "2 Slow St", "3 Busy Ave", "4 Fine St"]
        )
        counts = geocode_pending(session, app.config)
        assert counts["failed"] == 3 and counts.get("stopped") == "rate limited"
        assert Nominatim.calls.count("1 Broken Rd, Seattle, WA 98104") == 3  # first try and two retries
        for location_id in (broken, slow, busy, later):
            assert placed(session, location_id)[0] is None
        assert session.scalar(select(func.count()).select_from(GeocodeCache)) == 0
        db.session.remove()
        db.engine.dispose()


def test_geocode_pending_command(runner, session):
    add_locations(session, ["100 Harbor Way"])
    result = runner.invoke(args=["geocode", "pending"])
    assert result.exit_code == 0 and "1 placed" in result.output
