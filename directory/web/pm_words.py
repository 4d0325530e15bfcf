"""Words the project manager's and admin's pages show for what the domain and the records hold in English:
roles, the placeholders the domain writes where a name or a count is missing or hidden, and month names;
translated as each page is read (the domain stays Flask-free and the exports keep the English)."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from flask import has_request_context
from flask_babel import gettext

from ..domain.confidential_rows import CONFIDENTIAL_ROW
from ..domain.transparency import HIDDEN, NO_REFERRALS, NOT_SHOWN
from ..words import N_
from . import context
from .language import page_language

ROLE_WORDS = {
    "case_manager": N_("case manager"),
    "peer_outreach": N_("peer outreach"),
    "provider": N_("provider"),
    "project_manager": N_("project manager"),
    "admin": N_("admin"),
}
# What the domain writes where a name is missing (dashboard.py, audit_questions.py) or a count is hidden
# (transparency.py): only these are translated; a name someone typed is shown as they typed it.
PLACEHOLDERS = frozenset(
    {
        CONFIDENTIAL_ROW,
        HIDDEN,
        NOT_SHOWN,
        NO_REFERRALS,
        N_("(none)"),
        N_("(not recorded)"),
        N_("(not said)"),
        N_("(account removed)"),
    }
)


def role_words(role: str | None) -> str:
    """An account's role in the reader's language (a role without words reads with spaces)."""
    if not role:
        return ""
    words = ROLE_WORDS.get(role)
    return gettext(words) if words else role.replace("_", " ")


def domain_words(value: object) -> object:
    """A table cell or row name: the domain's placeholder words translated, anything else unchanged."""
    if isinstance(value, str) and value in PLACEHOLDERS:
        return gettext(value)
    return value


def _locale() -> str:
    # Outside a request (a job, the shell) there is no reader: the site's language.
    return context.reader_locale(page_language() if has_request_context() else None)


def month_words(first: date) -> str:
    """A month as the reader names it ("October 2026", "octubre de 2026")."""
    return format_skeleton("yMMMM", first, locale=_locale())


def day_words(day: date) -> str:
    """A day as the reader writes it in full ("October 1, 2026", "1 de octubre de 2026")."""
    return format_skeleton("yMMMMd", day, locale=_locale())


def install(app) -> None:
    """The role words and placeholder filter for every template."""
    app.add_template_global(role_words, "role_words")
    app.add_template_filter(domain_words, "domain_words")
