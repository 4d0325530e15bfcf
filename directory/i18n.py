"""The interface's language (Flask-Babel): the reader's own choice, then their browser's, then the site's; the
catalogs that exist, and which of them a reviewer has signed off for printing slips."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.support import Translations

TRANSLATIONS = Path(__file__).parent / "translations"
SOURCE_LANGUAGE = "en"  # the words in the templates and code; it needs no catalog
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_DAYS = 365


@dataclass(frozen=True)
class Review:
    """Who read a catalog through as a speaker of its language, and when (from its header comment)."""

    reviewer: str
    date: str


def available_languages(directory: Path = TRANSLATIONS) -> tuple[str, ...]:
    """The source language, then every language with a compiled catalog, in code order."""
    compiled = sorted(
        path.parent.parent.name for path in directory.glob("*/LC_MESSAGES/messages.mo") if path.is_file()
    )
    return (SOURCE_LANGUAGE, *(code for code in compiled if code != SOURCE_LANGUAGE))


def choose_language(
    chosen: str | None, accepted: list[tuple[str, float]], site_language: str, available: tuple[str, ...]
) -> str:
    """The language a page is read in: an explicit choice the site has a catalog for, then the best of the
    browser's Accept-Language (a region falls back to its language: es-MX reads es), then the site's
    language, then the source language."""
    if chosen in available:
        return chosen
    for tag, quality in sorted(accepted, key=lambda item: -item[1]):
        if quality <= 0:
            continue
        code = tag.replace("_", "-").split("-")[0].lower()
        if code in available:
            return code
    return site_language if site_language in available else SOURCE_LANGUAGE


@cache
def catalog_review(code: str, directory: Path = TRANSLATIONS) -> Review | None:
    """The catalog's reviewer and review date, from its header comment lines `# Reviewed-By:` and
    `# Review-Date:` (pybabel update keeps the header comment); None when either is missing."""
    path = directory / code / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        return None
    fields: dict[str, str] = {}
    with path.open(encoding="utf-8") as po:
        for line in po:
            if not line.startswith("#"):
                break
            key, _, value = line.lstrip("# ").partition(":")
            fields[key.strip().lower()] = value.strip()
    reviewer, date = fields.get("reviewed-by", ""), fields.get("review-date", "")
    return Review(reviewer, date) if reviewer and date else None


def slip_ready(code: str, directory: Path = TRANSLATIONS) -> bool:
    """A slip may be printed in the source language, or in one whose compiled catalog a reviewer signed."""
    if code == SOURCE_LANGUAGE:
        return True
    compiled = (directory / code / "LC_MESSAGES" / "messages.mo").is_file()
    return compiled and catalog_review(code, directory) is not None


@cache
def translations(code: str, directory: Path = TRANSLATIONS) -> Translations:
    """The compiled catalog for a language (the source language's words when there is none)."""
    return Translations.load(str(directory), [code])


def direction(code: str) -> str:
    """ "rtl" for a language written right to left (Arabic, Hebrew, ...), else "ltr"."""
    try:
        return "rtl" if Locale.parse(code).character_order == "right-to-left" else "ltr"
    except (UnknownLocaleError, ValueError):
        return "ltr"


def native_name(code: str) -> str:
    """A language's name in itself, capitalized ("Español"), for the language switch."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        name = code
    return name[:1].upper() + name[1:]
