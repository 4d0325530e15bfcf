"""Words marked for translation where they are defined and translated where they are shown: `N_` returns its
text unchanged (so plain modules need no Flask), and `make messages` extracts every N_("...") call. A
sentence built in a plain module travels as a `Phrase` (its marked words and their parameters, which may be
phrases too) and is said in a language by `say`."""

from __future__ import annotations

from collections.abc import Callable

Phrase = tuple[str, dict]


def N_(text: str) -> str:  # noqa: N802 - the gettext tools' own name for this marker
    """Mark `text` for the catalogs without translating it here."""
    return text


def say(phrase: Phrase, translate: Callable[[str], str] = lambda text: text) -> str:
    """A phrase in words: its text through `translate` (English unchanged by default; gettext for a page),
    filled with its parameters, each phrase among them said the same way first."""
    text, params = phrase
    said = {
        name: say(value, translate) if isinstance(value, tuple) else value for name, value in params.items()
    }
    words = translate(text)
    return words % said if said else words
