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


class Words(str):
    """A marked sentence (`%(name)s` placeholders) with its values; values may be Words themselves.

    It is the English text itself (a str: the API, logs and tests read it as they read any text) and keeps
    the sentence and values to be read again in another language with `render(gettext)`."""

    template: str
    params: dict

    def __new__(cls, template: str, **params):
        self = super().__new__(cls, _fill(template, template, params, _same, None))
        self.template = template
        self.params = params
        return self

    def render(self, gettext: Callable[[str], str] = _same, locale: str | None = None) -> str:
        """The sentence in the language `gettext` translates into (English without one); `locale` is for
        values that format themselves (a moment in time)."""
        text = gettext(self.template) if self.template else ""
        return _fill(text, self.template, self.params, gettext, locale)

    def __repr__(self) -> str:
        return f"Words({self.template!r}, **{self.params!r})"


def _fill(text: str, template: str, params: dict, gettext: Callable[[str], str], locale: str | None) -> str:
    if not params:
        return text
    # A value that can say itself in a language (Words, a moment in time) is read in this one.
    values = {k: v.render(gettext, locale) if hasattr(v, "render") else v for k, v in params.items()}
    try:
        return text % values
    except (KeyError, ValueError, TypeError):
        # A translation that lost or mangled a placeholder must never break a page: English instead.
        return template % values


def render(text: str | Words, gettext: Callable[[str], str] = _same, locale: str | None = None) -> str:
    """Plain text as it is (written by someone, or built before this was marked), Words in a language."""
    return text.render(gettext, locale) if isinstance(text, Words) else text
