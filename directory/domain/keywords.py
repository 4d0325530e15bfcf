"""Keywords as field staff type them: brand names and abbreviations (data/taxonomy.toml [synonyms]), and the
words of a service's tags (medications, practices, populations, languages, categories) as well as its text."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..config import DATA_DIR
from .reference import Reference
from .text import words

# Medications for opioid use disorder, each a Service flag (moud_<name>).
MEDICATIONS = ("buprenorphine", "methadone", "naltrexone")
TAXONOMY_FILE = DATA_DIR / "taxonomy.toml"


@lru_cache(maxsize=4)
def synonyms(path: Path = TAXONOMY_FILE) -> dict[str, tuple[tuple[str, ...], ...]]:
    """The synonym table: a folded word -> the phrases (as words) it also finds."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh).get("synonyms", {})
    table: dict[str, tuple[tuple[str, ...], ...]] = {}
    for key, phrases in raw.items():
        for word in words(key):
            table[word] = tuple(tuple(words(phrase)) for phrase in phrases if words(phrase))
    return table


def alternatives(term: str) -> tuple[tuple[str, ...], ...]:
    """What a query word finds: the word itself, or every word of one of its synonym phrases."""
    return ((term,), *(phrase for phrase in synonyms().get(term, ()) if phrase != (term,)))


@dataclass(frozen=True)
class TagMatches:
    """The tags whose words a query word begins (each a code, as stored)."""

    medications: tuple[str, ...] = ()
    practices: tuple[str, ...] = ()
    populations: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return any((self.medications, self.practices, self.populations, self.languages, self.categories))


def _matching(word: str, named: dict[str, str], with_code: bool = True) -> tuple[str, ...]:
    """Codes whose name (or code) has a word starting with `word` (the text index matches prefixes too)."""
    found = []
    for code, name in named.items():
        vocabulary = words(name) + (words(code) if with_code else [])
        if any(candidate.startswith(word) for candidate in vocabulary):
            found.append(code)
    return tuple(sorted(found))


def tag_matches(word: str, reference: Reference) -> TagMatches:
    """The tags a query word matches; language codes are left out (two letters would match too much)."""
    return TagMatches(
        medications=tuple(m for m in MEDICATIONS if m.startswith(word)),
        practices=_matching(word, reference.practice_names),
        populations=_matching(word, reference.population_names),
        languages=_matching(word, reference.language_names, with_code=False),
        categories=_matching(word, reference.term_names),
    )
