"""Sign-in and request authentication: sessions (with CSRF) for pages, bearer tokens for the API."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, func, select
from werkzeug.exceptions import Unauthorized
from werkzeug.security import check_password_hash, generate_password_hash

from ..auth import SessionUser
from ..database import begin_write
from ..domain.access import Actor
from ..domain.errors import DomainError, Forbidden
from ..extensions import csrf, db
from ..models import ApiToken, LoginAttempt, User
from . import context
from .transactions import persists_on_failure

bp = Blueprint("auth", __name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ACCOUNT_LIMIT = 5  # failed sign-ins per account per window
ADDRESS_LIMIT = 20  # failed sign-ins per address per window
LIMIT_WINDOW = timedelta(minutes=15)
# Writes that carry their own unguessable, signed token in the URL instead of a session.
CSRF_EXEMPT_ENDPOINTS = frozenset({"provider.confirm_link_post"})
_dummy_hash: str | None = None
# The account behind an API token, as plain columns: built once, because every API request runs it and
# building an ORM query per request cost more than the lookup itself.
TOKEN_ACCOUNT = (
    select(
        User.id,
        User.role,
        User.organization_id,
        User.org_admin,
        User.email,
        User.active,
        ApiToken.revoked_at,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def dummy_hash() -> str:
    """A hash to check against when the account does not exist, so both cases take the same time."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = generate_password_hash("not a real password")
    return _dummy_hash


class TooManyAttempts(DomainError):
    """Sign-in rate limit reached."""

    status = 429
    code = "too_many_requests"


def token_hash(token: str) -> str:
    """API tokens are random: SHA-256 is the right hash to look them up by."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def bearer_token() -> str | None:
    """The bearer token of this request, if it carries one."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def install(app) -> None:
    """Request hooks: bearer authentication, CSRF for session writes."""

    @app.before_request
    def authenticate():
        g.pop("_login_user", None)  # resolve the user afresh for every request
        token = bearer_token()
        g.bearer = token is not None
        if token is not None:
            row = db.session.execute(TOKEN_ACCOUNT, {"token_hash": token_hash(token)}).first()
            if row is None or row.revoked_at is not None or not row.active:
                raise Unauthorized(
                    "the API token is not valid (revoked, unknown, or the account is inactive)"
                )
            g._login_user = SessionUser(row)  # noqa: SLF001 - Flask-Login's per-request user slot
            return
        # Unmatched routes fall through to their 404/405. Page forms always need the CSRF token; under
        # /api only session-authenticated writes do (anonymous ones get their 401 from the view).
        if (
            request.method in UNSAFE_METHODS
            and current_app.config.get("WTF_CSRF_ENABLED", True)
            and request.routing_exception is None
            and request.endpoint not in CSRF_EXEMPT_ENDPOINTS
            and (not request.path.startswith("/api/") or current_user.is_authenticated)
        ):
            csrf.protect()


def actor() -> Actor:
    """The acting account (401 if nobody is signed in)."""
    if not current_user.is_authenticated:
        raise Unauthorized("sign in, or send an API token as Authorization: Bearer <token>")
    return Actor.of(current_user.user)


def visible_referral(referral_id: int):
    """The referral, if the signed-in actor may see it (404 when there is none, 403 when not theirs)."""
    from ..domain.referrals import can_view, load_referral

    referral = load_referral(db.session, referral_id)
    if not can_view(actor(), referral):
        raise Forbidden("this referral is not yours")
    return referral


def require_roles(*roles: str):
    """View decorator: signed in (401, or the login page for pages) with one of these roles (403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                if request.path.startswith("/api/"):
                    raise Unauthorized("sign in, or send an API token as Authorization: Bearer <token>")
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if roles and current_user.role not in roles:
                raise Forbidden("your role cannot use this page")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def _check_rate_limit(email: str, now) -> None:
    since = now - LIMIT_WINDOW
    failures = db.session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.email == email, LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    )
    by_address = db.session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.address == _client_address(),
            LoginAttempt.success.is_(False),
            LoginAttempt.at >= since,
        )
    )
    if failures >= ACCOUNT_LIMIT or by_address >= ADDRESS_LIMIT:
        raise TooManyAttempts("too many failed sign-ins: wait 15 minutes and try again")


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def landing_page(user) -> str:
    """Where each role starts."""
    return {
        "provider": url_for("provider.dashboard"),
        "project_manager": url_for("pm.freshness"),
    }.get(user.role, url_for("public.search"))


@bp.route("/login", methods=["GET", "POST"])
@persists_on_failure  # a failed sign-in is counted (401)
def login():
    """Sign in with email and password (rate-limited per account and per address)."""
    error = None
    status = 200
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()[:254]
        password = request.form.get("password") or ""
        now = context.now()
        begin_write(db.session)  # the count and the new attempt under one lock
        try:
            _check_rate_limit(email, now)
        except TooManyAttempts as exc:
            return render_template("auth/login.html", error=exc.message, email=email), 429
        user = db.session.scalar(select(User).where(User.email == email)) if email else None
        valid = check_password_hash(
            user.password_hash if user and user.password_hash else dummy_hash(), password
        )
        ok = bool(user and user.active and user.password_hash and valid)
        if ok and user.is_demo and current_app.config["DIRECTORY_ENV"] == "production":
            ok = False
        db.session.add(LoginAttempt(email=email, address=_client_address(), at=now, success=ok))
        if ok:
            login_user(SessionUser(user))
            return redirect(_safe_next(request.args.get("next")) or landing_page(user))
        error, status = "Email or password is wrong.", 401
    return render_template("auth/login.html", error=error, email=request.form.get("email", "")), status


@bp.post("/logout")
def logout():
    """Sign out."""
    logout_user()
    return redirect(url_for("public.search"))


@bp.get("/notifications")
@require_roles()
def notifications():
    """The signed-in account's notices, newest first."""
    from ..models import Notification

    notices = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(100)
    ).all()
    return render_template("auth/notifications.html", notices=notices, now=context.now())


@bp.post("/notifications/read")
@require_roles()
def notifications_read():
    """Mark every notice read."""
    from sqlalchemy import update

    from ..models import Notification

    begin_write(db.session)
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=context.now())
    )
    return redirect(url_for("auth.notifications"))


__all__ = ["bp", "install", "actor", "require_roles", "flash"]
