"""The one owner of a request's transaction: commit when the view succeeded, roll back otherwise.

Views never commit. A response below 400 commits what the view did; any other rolls it back, except for
views declared `@persists_on_failure` (a failed sign-in is still counted). A commit that fails answers 503,
never the view's 2xx. The write lock is not taken here: writing domain operations take it when they start
(`database.writes`), after the request's body was read and validated.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, request
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from .errors import database_unavailable

log = logging.getLogger(__name__)


def persists_on_failure(view):
    """Declare a view whose changes are kept even when it answers 4xx (failed sign-ins, recorded checks)."""
    view.persists_on_failure = True
    return view


def install(app: Flask) -> None:
    """Register the owner; it must be the last `after_request` registered, so that it runs first."""

    @app.after_request
    def finish_transaction(response):
        if g.get("reading_only"):
            return response  # no transaction was begun (reads.py ends the reading)
        session = db.session()
        if not session.in_transaction():
            return response
        view = current_app.view_functions.get(request.endpoint)
        if response.status_code >= 400 and not getattr(view, "persists_on_failure", False):
            session.rollback()
            return response
        try:
            session.commit()
        except DBAPIError as exc:
            session.rollback()
            log.warning("commit failed: %s", exc.__class__.__name__, exc_info=exc)
            return database_unavailable()
        return response
