"""Words marked for translation where they are defined and translated where they are shown: `N_` returns its
text unchanged (so plain modules need no Flask), and `make messages` extracts every N_("...") call."""


def N_(text: str) -> str:  # noqa: N802 - the gettext tools' own name for this marker
    """Mark `text` for the catalogs without translating it here."""
    return text
