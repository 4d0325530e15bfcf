"""Views that only read: declared with @reads_only, they run without a database transaction."""

from __future__ import annotations

from flask import Flask, current_app, g, request

from ..database import end_reading, read_without_transaction
from ..extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD"})


def reads_only(view):
    """Declare a view read-only: on PostgreSQL its statements run without BEGIN/ROLLBACK round trips,
    and a flush inside it is an error instead of a write (database.read_without_transaction)."""
    view.reads_only = True
    return view


def install(app: Flask) -> None:
    """Before anything touches the database (authentication does), set up read-only views' sessions."""

    @app.before_request
    def start_reading():
        view = current_app.view_functions.get(request.endpoint)
        if request.method in SAFE_METHODS and getattr(view, "reads_only", False):
            g.reading_only = read_without_transaction(db.session)

    @app.teardown_request
    def stop_reading(_error):
        # Only where reading began: other requests (static files, writes) need no session here.
        if g.pop("reading_only", False):
            end_reading(db.session)
