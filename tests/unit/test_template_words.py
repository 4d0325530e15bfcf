"""Every word a person reads in a template goes through _(): extraction cannot see what was never marked, so
this walks the Jinja lexer's tokens and the HTML between them (text, and title/alt/placeholder/aria-label)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Every template, so a new one is walked the day it is added.
MARKED = tuple(sorted(str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")))
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
EXPRESSION = "\x00"  # stands for whatever Jinja prints there
WORD = re.compile(r"[^\W\d_]{2,}")  # two letters in a row, in any script


class _Words(HTMLParser):
    """Collects text nodes and readable attribute values that hold words of their own."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and WORD.search(value.replace(EXPRESSION, " ")):
                self.found.append(f'{name}="{value.replace(EXPRESSION, "…")}"')

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and WORD.search(data.replace(EXPRESSION, " ")):
            self.found.append(data.replace(EXPRESSION, " ").strip())


def unmarked_words(source: str) -> list[str]:
    """The words in a template's own text (outside {{ }} and {% %}) that are not inside _()."""
    pieces = []
    for _, token, value in Environment(autoescape=True).lex(source):
        # Everything Jinja evaluates (expressions, tags, comments) becomes one placeholder character.
        if token == "data":
            pieces.append(value)
        elif not pieces or pieces[-1] != EXPRESSION:
            pieces.append(EXPRESSION)
    parser = _Words()
    parser.feed("".join(pieces))
    parser.close()
    return parser.found


def test_every_template_is_walked():
    assert len(MARKED) >= 36 and "public/search.html" in MARKED and "pm/_body.html" in MARKED


def test_the_walker_finds_what_it_is_for():
    assert unmarked_words('<p>{{ _("Print") }} · {{ count }}</p>') == []
    assert unmarked_words("<p>Hello {{ name }}</p>") == ["Hello"]
    assert unmarked_words('<a href="{{ url }}">Back</a>') == ["Back"]
    assert unmarked_words('<input placeholder="Address or ZIP">') == ['placeholder="Address or ZIP"']
    assert unmarked_words('<img alt="{{ _("Map") }}"><script>let x = "words";</script>') == []
    assert unmarked_words("{% if x %}Saved{% endif %}") == ["Saved"]
    assert unmarked_words("<p>Número</p>") == ["Número"]


@pytest.mark.parametrize("name", MARKED)
def test_marked_templates_have_no_words_outside_gettext(name):
    assert unmarked_words((TEMPLATES / name).read_text(encoding="utf-8")) == []
