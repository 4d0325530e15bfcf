"""Words for keyword search: the same normalisation for indexing and for queries."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERM = 64
STOP_WORDS = frozenset({"a", "an", "and", "at", "for", "in", "of", "on", "or", "the", "to", "with"})


def fold(text: str) -> str:
    """Lower-case and strip accents, so "Café" matches "cafe"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str | None) -> list[str]:
    """The distinct searchable words of a text, in order of first appearance."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for word in _WORD.findall(fold(text)):
        if word not in STOP_WORDS:
            seen.setdefault(word[:MAX_TERM], None)
    return list(seen)
