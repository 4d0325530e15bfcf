"""Which language a page is read in, which catalogs exist, and which are signed off for slips."""

from __future__ import annotations

import pytest

from directory import i18n
from tests.factories import compiled_catalog

AVAILABLE = ("en", "es")


@pytest.mark.parametrize(
    ("chosen", "accepted", "site", "expected"),
    [
        ("es", [("en-US", 1.0)], "en", "es"),  # an explicit choice beats the browser
        ("so", [("es-MX", 0.9)], "en", "es"),  # a choice without a catalog is passed over; es-MX reads es
        (None, [("fr", 1.0), ("es", 0.5)], "en", "es"),  # the best one the site has, not the first
        (None, [("es", 0.0), ("fr", 1.0)], "en", "en"),  # q=0 means "not this one"
        (None, [("ES_us", 1.0)], "en", "es"),  # case and underscores as browsers and people send them
        (None, [], "es", "es"),  # nothing said: the site's language
        (None, [], "vi", "en"),  # a site language with no catalog: the source language
        ("", [("*", 1.0)], "en", "en"),
    ],
)
def test_the_reader_choice_then_the_browser_then_the_site(chosen, accepted, site, expected):
    assert i18n.choose_language(chosen, accepted, site, AVAILABLE) == expected


def test_available_languages_are_the_compiled_catalogs_after_the_source(tmp_path):
    compiled_catalog(tmp_path, "vi", "# x", {"Print": "In"})
    compiled_catalog(tmp_path, "ar", "# x", {"Print": "طباعة"})
    (tmp_path / "so" / "LC_MESSAGES").mkdir(parents=True)  # an uncompiled folder is not a language yet
    assert i18n.available_languages(tmp_path) == ("en", "ar", "vi")


def test_a_slip_language_needs_a_reviewer_and_a_date_in_its_catalog(tmp_path):
    compiled_catalog(
        tmp_path, "ar", "# Reviewed-By: A. Reviewer\n# Review-Date: 2026-11-02", {"Print": "طباعة"}
    )
    compiled_catalog(tmp_path, "vi", "# Reviewed-By: B. Reviewer", {"Print": "In"})  # no date
    compiled_catalog(tmp_path, "so", "# Review-Date: 2026-11-02", {"Print": "Daabac"})  # no reviewer
    assert i18n.catalog_review("ar", tmp_path) == i18n.Review("A. Reviewer", "2026-11-02")
    ready = [code for code in ("en", "ar", "vi", "so", "fr") if i18n.slip_ready(code, tmp_path)]
    assert ready == ["en", "ar"]


def test_the_project_spanish_catalog_is_signed():
    review = i18n.catalog_review("es")
    assert review is not None and review.reviewer and review.date[:4] == "2026"


@pytest.mark.parametrize(
    ("code", "expected"), [("ar", "rtl"), ("he", "rtl"), ("es", "ltr"), ("zz-bad", "ltr")]
)
def test_direction(code, expected):
    assert i18n.direction(code) == expected


def test_native_names_for_the_switch():
    assert i18n.native_name("es") == "Español"
    assert i18n.native_name("en") == "English"


def _project_messages() -> set[str]:
    """Every word marked in the project, extracted as `make messages` does (with babel.cfg)."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    root = i18n.TRANSLATIONS.parents[1]
    with (root / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {
        _key(message)
        for _file, _line, message, _comments, _context in extract_from_dir(root, method_map, options_map)
    }


def _key(message_id) -> str:
    """A message's id: its singular for a plural message."""
    return message_id if isinstance(message_id, str) else message_id[0]


def _translated(words) -> bool:
    """Every form given: a plural message has one per plural form of the language."""
    return all(words) if isinstance(words, tuple | list) else bool(words)


def test_spanish_has_every_marked_word_translated_and_none_fuzzy():
    from babel.messages.pofile import read_po

    with (i18n.TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    entries = {_key(message.id): message for message in catalog if message.id}
    marked = _project_messages()
    assert len(marked) > 40  # the extraction itself works
    assert sorted(marked - set(entries)) == [], "marked but not in the catalog: run `make messages`"
    assert sorted(m for m in marked if not _translated(entries[m].string)) == [], "untranslated"
    assert sorted(m for m in marked if entries[m].fuzzy) == [], "fuzzy: a speaker must confirm these"
