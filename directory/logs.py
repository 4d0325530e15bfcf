"""Structured (JSON) logs for production, one line per event, with a request id on every request line.

Every line is redacted as it is formatted, whichever logger wrote it (the request log, Werkzeug's request
lines with their query strings, an exception's text): no confirm or API token, participant code, or
coordinates reach the log."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request

REDACTED = "[redacted]"
# What a log line must never carry, each with its replacement. Order matters: whole path segments first.
_REDACTIONS = (
    # The one-tap confirm link (/confirm/<signed token>): the token alone confirms a service's numbers.
    (re.compile(r"(/confirm/)[^/\s?#\"']+"), r"\1" + REDACTED),
    # Any participant path segment, whatever the code's format (/participants/<code>, API alike).
    (re.compile(r"(/participants/)(?!new\b)[^/\s?#\"']+"), r"\1" + REDACTED),
    # Signed itsdangerous tokens anywhere (their payload starts with base64 of '{"').
    (re.compile(r"\beyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-.]+"), REDACTED),
    # API tokens (ldt_...) and bearer credentials.
    (re.compile(r"\bldt_[A-Za-z0-9_\-]+"), "ldt_" + REDACTED),
    (re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), r"\1" + REDACTED),
    # Participant codes as the app makes them (P- and six characters; a few more allowed for old codes).
    (re.compile(r"(?i)\bP-[A-Z0-9]{4,12}\b"), "P-" + REDACTED),
    # Query parameters that carry a place, a participant, or a credential.
    (
        re.compile(
            r"(?i)\b(near|lat|lon|latitude|longitude|participant|participant_code|code|token)=[^&\s\"']*"
        ),
        r"\1=" + REDACTED,
    ),
    # A bare "lat,lon" pair (two decimals with a fractional part; percent-encoded comma too).
    (re.compile(r"-?\b\d{1,3}\.\d+\s*(?:,|%2C)\s*-?\d{1,3}\.\d+", re.IGNORECASE), REDACTED),
)


def redact(text: str) -> str:
    """The text without confirm tokens, API tokens, participant codes, or coordinates."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """Format a log record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON: time, level, logger, message, and any structured extras."""
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("request_id", "method", "path", "status", "duration_ms", "user_id"):
            if hasattr(record, key):
                value = getattr(record, key)
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    """Send every log line to stderr as JSON (called by the production entry points, not create_app)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def install_request_logging(app: Flask) -> None:
    """Log each request once it is answered: method, path (no query string), status, duration, request id."""
    log = logging.getLogger("directory.request")

    @app.before_request
    def start_timer():
        g.request_started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex[:16]

    @app.after_request
    def log_request(response):
        started = g.get("request_started")
        if started is not None:
            # The query string is left out: it can hold a participant's place or search words.
            log.info(
                "request",
                extra={
                    "request_id": g.get("request_id"),
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response
