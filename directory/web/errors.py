"""Error handling: JSON errors under /api (contract.md), HTML pages elsewhere; no 500 for client input."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import get_locale, gettext
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..domain.errors import DomainError
from ..extensions import db
from ..words import N_, Words, render

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    429: "too_many_requests",
    431: "headers_too_large",
    500: "internal_error",
    503: "unavailable",
}


HTTP_PAGE_WORDS = {  # what an error page says for the statuses people meet (the API keeps Werkzeug's words)
    400: N_("The request could not be understood."),
    401: N_("Please sign in to see this page."),
    403: N_("You are not allowed to see this page."),
    404: N_("This page was not found."),
    405: N_("This page cannot be used that way."),
    413: N_("What you sent is too large."),
    429: N_("Too many tries. Please wait a little and try again."),
}


def wants_json() -> bool:
    """Whether this request is an API request (JSON errors)."""
    return request.path.startswith("/api/")


def error_response(status: int, message: str, code: str | None = None, field: str | None = None, **extra):
    """The contract's error JSON: {"error": {"code", "message", "field"?}} plus extra top-level keys."""
    error = {"code": code or HTTP_CODES.get(status, "error"), "message": message}
    if field:
        error["field"] = field
    response = jsonify({"error": error, **extra})
    response.status_code = status
    return response


def shown(problem: DomainError | Words | str | None) -> str:
    """A domain error (or marked words) in the page's language; the API keeps the English `.message`."""
    if problem is None:
        return ""
    if isinstance(problem, DomainError):
        problem = problem.words
    return render(problem, gettext, str(get_locale() or "en"))


def _page(status: int, message: str | Words):
    return render_template("error.html", status=status, message=shown(message)), status


def database_unavailable():
    """503 with Retry-After: the database is busy or unreachable (JSON under /api, a page elsewhere)."""
    if wants_json():
        response = error_response(503, "the database is busy or unavailable; try again shortly")
    else:
        response = current_app.make_response(
            _page(503, Words(N_("The database is busy or unavailable; try again shortly.")))
        )
    response.headers["Retry-After"] = "2"
    return response


def register(app: Flask) -> None:
    """Install the handlers."""

    @app.before_request
    def refuse_large_bodies():
        # Before routing errors, so an oversized body is a 413 whatever the method or path.
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge(f"the body is larger than {limit} bytes")

    app.add_template_filter(shown, "problem")

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        if wants_json():
            return error_response(exc.status, exc.message, exc.code, exc.field, **getattr(exc, "extra", {}))
        return _page(exc.status, exc.words)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = exc.description or exc.name
        if wants_json():
            response = error_response(status, message)
            valid_methods = getattr(exc, "valid_methods", None)
            if status == 405 and valid_methods:
                response.headers["Allow"] = ", ".join(valid_methods)
            return response
        # Werkzeug's default descriptions are English: a page says the status in the reader's language
        # instead (a description the app gave, e.g. abort(404, "..."), is shown as written).
        if exc.description == type(exc).description and status in HTTP_PAGE_WORDS:
            return _page(status, Words(HTTP_PAGE_WORDS[status]))
        return _page(status, message)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        # Locked (SQLite busy past its timeout) or unreachable (PostgreSQL down): say so, try later.
        db.session.rollback()
        log.warning("database unavailable: %s", exc.__class__.__name__, exc_info=exc)
        return database_unavailable()

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if wants_json():
            return error_response(500, "internal error; it has been logged")
        return _page(500, Words(N_("Something went wrong on our side; it has been logged.")))
