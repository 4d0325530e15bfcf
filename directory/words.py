"""Words marked for translation where they are defined and translated where they are shown: `N_` returns its
text unchanged (so plain modules need no Flask), and `make messages` extracts every N_("...") call. `Words`
keeps a marked sentence and its values apart until a reader's language is known (a page, a notice's
recipient), and reads in English otherwise (logs, the API)."""

from __future__ import annotations

from collections.abc import Callable


def N_(text: str) -> str:  # noqa: N802 - the gettext tools' own name for this marker
    """Mark `text` for the catalogs without translating it here."""
    return text


def _same(text: str) -> str:
    return text


class Words:
    """A marked sentence (`%(name)s` placeholders) with its values; values may be Words themselves."""

    __slots__ = ("params", "template")

    def __init__(self, template: str, **params):
        self.template = template
        self.params = params

    def render(self, gettext: Callable[[str], str] = _same) -> str:
        """The sentence in the language `gettext` translates into (English without one)."""
        values = {k: v.render(gettext) if isinstance(v, Words) else v for k, v in self.params.items()}
        text = gettext(self.template) if self.template else ""
        if not values:
            return text
        try:
            return text % values
        except (KeyError, ValueError, TypeError):
            # A translation that lost or mangled a placeholder must never break a page: English instead.
            return self.template % values

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Words({self.template!r}, **{self.params!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Words) and (self.template, self.params) == (other.template, other.params)

    __hash__ = None  # type: ignore[assignment]


def render(text: str | Words, gettext: Callable[[str], str] = _same) -> str:
    """Plain text as it is (written by someone, or built before this was marked), Words in a language."""
    return text.render(gettext) if isinstance(text, Words) else text
