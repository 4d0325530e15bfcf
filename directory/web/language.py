"""The language switch on every page, and Flask-Babel's locale for each request (i18n.py decides)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import refresh
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from .. import i18n
from ..database import begin_write
from ..extensions import babel, db
from . import context
from .auth import safe_next

bp = Blueprint("language", __name__)


def page_language() -> str:
    """The language this request's pages are read in (never kept in g: app contexts outlive requests)."""
    available = current_app.extensions["directory_languages"]
    chosen = request.cookies.get(i18n.LANGUAGE_COOKIE) or account_language()
    return i18n.choose_language(chosen, list(request.accept_languages), context.site().language, available)


def account_language() -> str | None:
    """The language the signed-in person chose before (kept with the account), if any."""
    if not getattr(current_user, "is_authenticated", False):
        return None
    return getattr(current_user, "language", None)


def remember(response, code: str):
    """The reader's language in a year-long cookie (it outlives sign-in and sign-out)."""
    response.set_cookie(
        i18n.LANGUAGE_COOKIE,
        code,
        max_age=i18n.LANGUAGE_COOKIE_DAYS * 86400,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
    )
    return response


def catalogs() -> Path:
    """The folder of this app's catalogs (TRANSLATIONS_DIR; the project's own by default)."""
    return current_app.extensions["directory_catalogs"]


def install(app) -> None:
    """Flask-Babel with the project's catalogs; the page's language and direction in every template."""
    catalogs = Path(app.config.get("TRANSLATIONS_DIR") or i18n.TRANSLATIONS)
    app.extensions["directory_catalogs"] = catalogs
    app.extensions["directory_languages"] = i18n.available_languages(catalogs)
    babel.init_app(app, locale_selector=page_language, default_translation_directories=str(catalogs))

    @app.before_request
    def choose_afresh():
        # Flask-Babel keeps the locale in g, and an app context can outlive a request (tests, CLI).
        refresh()

    @app.after_request
    def say_the_language(response):
        # A page says its language, and that it depends on the cookie and the browser's languages: caches
        # (the service worker's among them, static/js/sw.js) keep one page per language, not one per URL.
        if response.mimetype == "text/html":
            response.headers["Content-Language"] = page_language()
            response.vary.add("Cookie")
            response.vary.add("Accept-Language")
        return response

    @app.context_processor
    def language_context():
        code = page_language()
        others = [
            {"code": other, "name": i18n.native_name(other)}
            for other in current_app.extensions["directory_languages"]
            if other != code
        ]
        return {
            "page_language": code,
            "page_direction": i18n.direction(code),
            "other_languages": others,
            "language_next": _back_here(),
        }


def _signed_in_with_token() -> bool:
    """A signed-in person's own switch (its form carries their CSRF token; the route itself is exempt,
    since the cookie alone changes nothing but the words)."""
    if not getattr(current_user, "is_authenticated", False):
        return False
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True  # as the app's own CSRF hook (auth.py) reads it: tests post without tokens
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


def _back_here() -> str:
    """Where the switch returns: the same page; its query string only on public pages (a search), because a
    staff page's query may name a participant, which the page must not echo back."""
    if request.blueprint == "public" and request.query_string:
        return request.full_path
    return request.path


@bp.post("/language")
def choose():
    """Remember the reader's language for a year (a cookie, so it outlives sign-in and sign-out), and with
    a signed-in person's account (their notices and emails read in it, on any device), then go back to the
    page they were reading."""
    code = request.form.get("lang", "")
    back = safe_next(request.form.get("next")) or url_for("public.search")
    response = redirect(back, code=303)
    if code in current_app.extensions["directory_languages"]:
        remember(response, code)
        if (
            getattr(current_user, "is_authenticated", False)
            and getattr(current_user, "language", None) != code
        ):
            user = current_user.user
            begin_write(db.session)
            user.language = code
    return response
