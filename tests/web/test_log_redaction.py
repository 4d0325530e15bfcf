"""The JSON log read as an attacker with read access to it would: no one-tap confirm token, API token,
participant code or coordinates in any line (request paths, Werkzeug's request lines with their query
strings, messages, exceptions)."""

import io
import json
import logging
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.domain.participants import new_code
from directory.links import make_confirm_token
from directory.logs import JsonFormatter, redact
from directory.models import ConfirmLink
from tests.conftest import FIXED_NOW, SECRET
from tests.factories import make_participant, make_service, make_token, make_user


@pytest.fixture
def log_lines():
    """Everything logged while the test runs, as the production JSON formatter writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: stream.getvalue().splitlines()
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_no_secret_reaches_the_log(app, client, session, log_lines):
    service = make_service(session)
    cm = make_user(session, "case_manager")
    participant = make_participant(session, cm)
    api_token = make_token(session, cm)
    session.add(
        ConfirmLink(
            service_id=service.id,
            nonce="nonce-for-the-log-test",
            reminder_key="k-log",
            created_at=FIXED_NOW,
            expires_at=FIXED_NOW + timedelta(days=1),
        )
    )
    session.commit()
    confirm = make_confirm_token(SECRET, "nonce-for-the-log-test")
    code = participant.code
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert client.get(f"/confirm/{confirm}").status_code == 200
    assert client.get(f"/api/v1/participants/{code}", headers=bearer).status_code == 200
    assert client.get(f"/participants/{code}").status_code == 302
    assert client.get("/search?near=47.6062,-122.3321").status_code == 200
    # Werkzeug's own request line (the development server writes it, query string included).
    logging.getLogger("werkzeug").info(
        '127.0.0.1 - - "GET /referrals/check?service_id=3&participant=%s&near=%s HTTP/1.1" 200 -',
        code,
        "47.6062%2C-122.3321",
    )
    logging.getLogger("directory.test").warning(
        "token %s of %s failed at %s,%s; confirm %s",
        api_token,
        code,
        47.6062,
        -122.3321,
        f"/confirm/{confirm}",
    )
    try:
        raise ValueError(f"no participant {code} near 47.6062, -122.3321 (Bearer {api_token})")
    except ValueError:
        logging.getLogger("directory.test").exception("failed")
    lines = log_lines()
    entries = [json.loads(line) for line in lines]
    text = "\n".join(lines)
    assert len(entries) >= 7
    for secret in (confirm, api_token, api_token.removeprefix("ldt_"), code, "47.6062", "122.3321"):
        assert secret not in text, secret
    paths = [e["path"] for e in entries if "path" in e]
    assert "/confirm/[redacted]" in paths
    assert "/api/v1/participants/[redacted]" in paths
    assert "/participants/[redacted]" in paths
    assert "/search" in paths  # what is no secret stays readable
    assert any("service_id=3" in e["message"] for e in entries)


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    lat=st.floats(min_value=-90, max_value=90, allow_nan=False),
    lon=st.floats(min_value=-180, max_value=180, allow_nan=False),
)
def test_codes_and_coordinates_are_redacted_wherever_they_sit(before, after, lat, lon):
    code = new_code()
    pair = f"{lat:.4f},{lon:.4f}"
    for template in ("{b} {x} {a}", "/participants/{x}?{a}", "near={x}&{b}", "{b}({x}){a}"):
        for secret in (code, code.lower(), pair):
            line = redact(template.format(b=before, a=after, x=secret))
            assert secret not in line, (template, secret, line)
