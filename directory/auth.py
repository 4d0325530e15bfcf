"""Session users for Flask-Login, and the signed session cookie's lifetime.

A signed-in cookie carries, besides Flask-Login's user id: a random session id (`_sid`), the account's
session epoch when it signed in (`_epoch`), when it signed in (`_iat`) and when it was last active
(`_seen`, both UNIX seconds). It signs nobody in once its session id was signed out (ended_session), the
account's epoch moved on (password change, deactivation, "sign out everywhere"), it is older than the
site's absolute lifetime, or it was idle longer than the site's idle time. Activity is kept in the cookie
itself, so a request writes nothing to the database; background requests (polling) do not refresh it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app, request, session
from sqlalchemy import select

from .extensions import db, login_manager
from .models import User

SESSION_KEYS = ("_sid", "_epoch", "_iat", "_seen")
# Requests that poll in the background: they neither count as activity nor keep a session alive.
BACKGROUND_HEADER = "X-Background"
BACKGROUND_PATHS = frozenset({"/api/v1/capacity/changes"})


class SessionUser:
    """The signed-in account as Flask-Login sees it."""

    def __init__(self, user: User):
        # An ORM User (sessions) or a row with the same columns (API tokens): only these are read.
        self.user = user
        self.id = user.id
        self.role = user.role
        self.organization_id = user.organization_id
        self.email = user.email
        self.language = getattr(user, "language", None)  # chosen with the switch; notices read in it

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        """The id kept in the session cookie."""
        return str(self.id)


def session_fields(user: User, now: datetime) -> dict:
    """The cookie fields of a new session for this account (a fresh random session id)."""
    stamp = int(now.timestamp())
    return {
        "_sid": secrets.token_urlsafe(32),
        "_epoch": user.session_epoch or 0,
        "_iat": stamp,
        "_seen": stamp,
    }


def lifetimes() -> tuple[timedelta, timedelta]:
    """The site's idle time and absolute lifetime of a session."""
    from .web.context import site

    config = site()
    return (
        timedelta(minutes=config.session_idle_minutes),
        timedelta(hours=config.session_absolute_hours),
    )


def is_background() -> bool:
    """Whether this request polls in the background (and so is no sign of a person at the keyboard)."""
    return bool(request.headers.get(BACKGROUND_HEADER)) or request.path in BACKGROUND_PATHS


def session_expires_at() -> datetime | None:
    """When the current cookie's absolute lifetime ends (None without a signed-in session)."""
    issued = session.get("_iat")
    if not isinstance(issued, int):
        return None
    return datetime.fromtimestamp(issued, UTC) + lifetimes()[1]


def _cookie_is_current(now: datetime) -> bool:
    sid, epoch, issued, seen = (session.get(key) for key in SESSION_KEYS)
    if not (isinstance(sid, str) and sid and all(isinstance(v, int) for v in (epoch, issued, seen))):
        return False
    idle, absolute = lifetimes()
    stamp = now.timestamp()
    return stamp < issued + absolute.total_seconds() and stamp < seen + idle.total_seconds()


def _may_sign_in(user: User) -> bool:
    # Demo accounts have a published password: production refuses them whatever the entry point.
    return user.active and not (user.is_demo and current_app.config["DIRECTORY_ENV"] == "production")


@login_manager.user_loader
def load_user(user_id: str):
    """Load the session's account; a session that ended, expired, or whose account is inactive is dropped
    whole (its CSRF token with it)."""
    from .domain.accounts import session_ended
    from .web.context import now as site_now

    now = site_now()
    if not user_id.isdigit() or not _cookie_is_current(now):
        session.clear()
        return None
    row = db.session.execute(
        select(User, session_ended(session["_sid"])).where(User.id == int(user_id))
    ).first()
    if row is None or row[1] or not _may_sign_in(row[0]) or row[0].session_epoch != session["_epoch"]:
        session.clear()
        return None
    if not is_background() and int(now.timestamp()) != session["_seen"]:
        session["_seen"] = int(now.timestamp())
    return SessionUser(row[0])
