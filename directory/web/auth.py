"""Sign-in and request authentication: sessions (with CSRF) for pages, bearer tokens for the API."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import force_locale, gettext, ngettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, func, select
from werkzeug.exceptions import Unauthorized
from werkzeug.security import check_password_hash, generate_password_hash

from ..auth import SessionUser, session_expires_at, session_fields
from ..database import begin_write
from ..domain import accounts
from ..domain.access import Actor
from ..domain.errors import DomainError, Forbidden, ValidationError
from ..extensions import csrf, db
from ..i18n import native_name as i18n_name
from ..models import ApiToken, LoginAttempt, User
from ..words import N_, Words
from . import context
from .errors import shown
from .ids import parse_id
from .transactions import persists_on_failure

bp = Blueprint("auth", __name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PAIR_LIMIT = 5  # failed sign-ins for one account from one address, then that pair waits out the window
LIMIT_WINDOW = timedelta(minutes=15)
# Per account from anywhere: no lockout (a stranger could then lock anyone out), but a delay that doubles
# with each failure past the first few, capped, so that a guesser spread over many addresses stays slow.
ACCOUNT_FREE_FAILURES = 5
ACCOUNT_MAX_DELAY = 30  # seconds
# Writes that carry their own unguessable, signed token in the URL instead of a session.
# The language switch sets a preference cookie (a forged one changes nothing but the words); it writes the
# account's language only with a valid CSRF token (language.choose checks it).
CSRF_EXEMPT_ENDPOINTS = frozenset({"provider.confirm_link_post", "language.choose"})
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
        User.is_demo,
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

    def __init__(self, message: str | Words, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


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
            if (
                row is None
                or row.revoked_at is not None
                or not row.active
                or (row.is_demo and current_app.config["DIRECTORY_ENV"] == "production")
            ):
                raise Unauthorized(
                    "the API token is not valid (revoked, unknown, or the account is inactive)"
                )
            g._login_user = SessionUser(row)  # noqa: SLF001 - Flask-Login's per-request user slot
            return
        if "_user_id" in session and request.endpoint != "static":
            # Resolve the session now: one that ended or expired is dropped whole, CSRF token included,
            # before the CSRF check below could accept that token.
            _ = current_user.is_authenticated
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
        raise Forbidden(Words(N_("this referral is not yours")))
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
                raise Forbidden(Words(N_("your role cannot use this page")))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _client_address() -> str:
    # remote_addr is the peer, or with TRUSTED_PROXIES set, the address those proxies forwarded (ProxyFix).
    return (request.remote_addr or "unknown")[:64]


def _failures_since_success(*conditions) -> list[datetime]:
    """Failed attempts matching the conditions since the last success matching them, newest first."""
    last_success = (
        select(func.coalesce(func.max(LoginAttempt.id), 0))
        .where(*conditions, LoginAttempt.success.is_(True))
        .scalar_subquery()
    )
    return list(
        db.session.scalars(
            select(LoginAttempt.at)
            .where(*conditions, LoginAttempt.success.is_(False), LoginAttempt.id > last_success)
            .order_by(LoginAttempt.id.desc())
            .limit(ACCOUNT_FREE_FAILURES + 16)
        )
    )


def account_delay(failures: int) -> int:
    """Seconds an account waits after this many recent failures: none at first, then 1, 2, 4 ... 30."""
    if failures < ACCOUNT_FREE_FAILURES:
        return 0
    return min(ACCOUNT_MAX_DELAY, 2 ** (failures - ACCOUNT_FREE_FAILURES))


def _check_rate_limit(email: str, now: datetime) -> None:
    """Raise TooManyAttempts (with the seconds to wait) when this sign-in must wait."""
    since = now - LIMIT_WINDOW
    pair = [
        at
        for at in _failures_since_success(
            LoginAttempt.email == email, LoginAttempt.address == _client_address()
        )
        if at > since
    ]
    if len(pair) >= PAIR_LIMIT:
        # Blocked until the oldest of the last five failures leaves the window.
        wait = (pair[PAIR_LIMIT - 1] + LIMIT_WINDOW - now).total_seconds()
        raise TooManyAttempts(
            Words(N_("too many failed sign-ins for this account from here: try again in 15 minutes")),
            max(1, math.ceil(wait)),
        )
    account = [at for at in _failures_since_success(LoginAttempt.email == email) if at > since]
    delay = account_delay(len(account))
    if delay:
        wait = (account[0] + timedelta(seconds=delay) - now).total_seconds()
        if wait > 0:
            seconds = math.ceil(wait)
            raise TooManyAttempts(
                Words(
                    N_("this account had several failed sign-ins: wait %(seconds)s second(s) and try again"),
                    seconds=seconds,
                ),
                seconds,
            )


def safe_next(target: str | None) -> str | None:
    """A local path to go to after sign-in, or None: never another site, never a header break."""
    if not target or len(target) > 2000:
        return None
    # Control characters (CR/LF would split the Location header), spaces and backslashes (browsers read
    # '/\\evil' as '//evil') are refused outright rather than cleaned.
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F or ch == "\\" for ch in target):
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


def start_session(user: User) -> None:
    """Sign the browser in with a new session: nothing of the old cookie is kept (no fixation, and a
    fresh CSRF token is made on the next form)."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the request's token here
    login_user(SessionUser(user))
    session.update(session_fields(user, context.now()))


@bp.route("/login", methods=["GET", "POST"])
@persists_on_failure  # a failed sign-in is counted (401)
def login():
    """Sign in with email and password (rate-limited per account and address, delayed per account)."""
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
            page = render_template("auth/login.html", error=shown(exc), email=email)
            return page, 429, {"Retry-After": str(exc.retry_after)}
        user = db.session.scalar(select(User).where(User.email == email)) if email else None
        valid = check_password_hash(
            user.password_hash if user and user.password_hash else dummy_hash(), password
        )
        ok = bool(user and user.active and user.password_hash and valid)
        if ok and user.is_demo and current_app.config["DIRECTORY_ENV"] == "production":
            ok = False
        db.session.add(LoginAttempt(email=email, address=_client_address(), at=now, success=ok))
        if ok:
            start_session(user)
            response = redirect(safe_next(request.args.get("next")) or landing_page(user))
            if user.language and user.language in current_app.extensions["directory_languages"]:
                # The account's language follows the person to a new browser (or a cleared cookie).
                from . import language  # here: language.py imports this module

                language.remember(response, user.language)
            return response
        error, status = shown(Words(N_("Email or password is wrong."))), 401
    return render_template("auth/login.html", error=error, email=request.form.get("email", "")), status


@bp.post("/logout")
def logout():
    """Sign out: this session ends on the server too, so a copy of its cookie signs nobody in."""
    sid, expires_at = session.get("_sid"), session_expires_at()
    if current_user.is_authenticated and isinstance(sid, str) and expires_at is not None:
        accounts.end_session(db.session, current_user.id, sid, context.now(), expires_at)
    logout_user()
    session.clear()
    response = redirect(url_for("public.search"))
    # The browser's cache and the service worker's (and the worker itself) go with the session: staff
    # pages are never kept, but a shared phone must not keep even the public pages a staff member opened.
    # Not "cookies": the new, empty session cookie set here must stay.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@bp.get("/account")
@require_roles()
def account():
    """The signed-in account: its language, change the password, sign out everywhere."""
    return _account_page()


ROLE_NAMES = {  # the account page says the role in these words, through _()
    "case_manager": N_("case manager"),
    "peer_outreach": N_("peer outreach worker"),
    "provider": N_("provider"),
    "project_manager": N_("project manager"),
    "admin": N_("admin"),
}


def _account_page(error: str | None = None):
    """The account page; the languages offered are those with a catalog (the language switch's)."""
    from .. import i18n

    return render_template(
        "auth/account.html",
        error=error,
        languages=[(code, i18n.native_name(code)) for code in current_app.extensions["directory_languages"]],
        account_language=getattr(current_user, "language", None),
        role_names=ROLE_NAMES,
    )


@bp.post("/account/language")
@require_roles()
def account_language():
    """The language of this account's notices and emails (and of its pages, on any device it signs in on)."""
    from . import language  # here: language.py imports this module

    code = request.form.get("lang", "")
    if code not in current_app.extensions["directory_languages"]:
        return _account_page(error=gettext("Choose one of the languages offered.")), 400
    begin_write(db.session)
    current_user.user.language = code
    response = redirect(url_for("auth.account"), code=303)
    language.remember(response, code)
    with force_locale(code):
        flash(gettext("Saved: your notices and emails now come in %(language)s.", language=i18n_name(code)))
    return response


@bp.post("/account/password")
@require_roles()
def change_password():
    """Change the password: every session and API token of the account ends; this browser signs in anew."""
    try:
        revoked = accounts.change_password(
            db.session,
            current_user.user,
            request.form.get("current_password") or "",
            request.form.get("new_password") or "",
            request.form.get("confirm_password") or "",
            context.now(),
        )
    except ValidationError as exc:
        return _account_page(error=shown(exc)), 400
    start_session(db.session.get(User, current_user.id))
    flash(
        ngettext(
            "Password changed. Every other session ended; %(num)d API token revoked.",
            "Password changed. Every other session ended; %(num)d API tokens revoked.",
            revoked,
        )
    )
    return redirect(url_for("auth.account"))


@bp.post("/account/sign-out-everywhere")
@require_roles()
def sign_out_everywhere():
    """End every session (this one too) and API token of the signed-in account."""
    accounts.sign_out_everywhere(db.session, current_user.id, current_user.id, context.now())
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/admin/accounts")
@require_roles("admin")
def admin_accounts():
    """The admin's list of accounts, each with sign-out-everywhere and (de)activation."""
    return render_template("auth/admin_accounts.html", users=accounts.accounts(db.session))


def _target_account(user_id: str) -> User:
    from ..domain.errors import NotFound

    parsed = parse_id(user_id)
    target = db.session.get(User, parsed) if parsed is not None else None
    if target is None:
        raise NotFound(Words(N_("no such account")))
    return target


@bp.post("/admin/accounts/<user_id>/sign-out-everywhere")
@require_roles("admin")
def admin_sign_out(user_id: str):
    """An admin ends every session and API token of an account (a lost phone, a departed colleague)."""
    target = _target_account(user_id)
    revoked = accounts.sign_out_everywhere(db.session, current_user.id, target.id, context.now())
    flash(
        ngettext(
            "Every session of %(email)s ended; %(num)d API token revoked.",
            "Every session of %(email)s ended; %(num)d API tokens revoked.",
            revoked,
            email=target.email,
        )
    )
    return redirect(url_for("auth.admin_accounts"))


@bp.post("/admin/accounts/<user_id>/active")
@require_roles("admin")
def admin_set_active(user_id: str):
    """An admin deactivates (ending every session and token) or reactivates an account."""
    target = _target_account(user_id)
    active = request.form.get("active") == "1"
    if target.id == current_user.id and not active:
        raise ValidationError(Words(N_("you cannot deactivate your own account")), "active")
    accounts.set_active(db.session, current_user.id, target.id, active, context.now())
    return redirect(url_for("auth.admin_accounts"))


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
