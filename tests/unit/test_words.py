"""Words: a marked sentence that is its English text, and reads again in another language."""

from __future__ import annotations

import json

from directory.domain.errors import DomainError, ValidationError
from directory.words import N_, Words, render

SPANISH = {
    "no referral %(referral_id)s": "no existe el referido %(referral_id)s",
    "Declined: %(why)s.": "Rechazado: %(why)s.",
    "no capacity": "no hay lugar",
    "broken %(name)s": "roto %(nombre)s",  # a translation that lost its placeholder
}


def spanish(text: str) -> str:
    return SPANISH.get(text, text)


def test_words_are_their_english_text_and_read_in_another_language():
    words = Words(N_("no referral %(referral_id)s"), referral_id=7)
    assert words == "no referral 7" and isinstance(words, str) and "referral 7" in words
    assert json.dumps({"message": words}) == '{"message": "no referral 7"}'
    assert words.render(spanish) == "no existe el referido 7"


def test_nested_words_are_read_in_the_same_language():
    words = Words(N_("Declined: %(why)s."), why=Words(N_("no capacity")))
    assert words == "Declined: no capacity." and words.render(spanish) == "Rechazado: no hay lugar."


def test_a_broken_translation_falls_back_to_english_and_plain_text_stays():
    assert Words(N_("broken %(name)s"), name="x").render(spanish) == "broken x"
    assert render("written by someone 100%", spanish) == "written by someone 100%"
    assert Words("a plain 100% sentence").render(spanish) == "a plain 100% sentence"


def test_domain_errors_keep_english_and_their_words():
    error = ValidationError(Words(N_("no referral %(referral_id)s"), referral_id=3), "referral_id")
    assert (error.message, error.field, str(error)) == ("no referral 3", "referral_id", "no referral 3")
    assert error.words.render(spanish) == "no existe el referido 3"
    plain = DomainError(f"built the old way: {42}")
    assert plain.message == "built the old way: 42" and plain.words.render(spanish) == plain.message
