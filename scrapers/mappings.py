"""Checks of a site's mapping before a single row is read: known keys and domains, paired fields, and
columns present in the file (case-insensitively), each wrong name answered with the closest right ones."""

from __future__ import annotations

import difflib
import tomllib
from functools import lru_cache
from pathlib import Path

from .common import SourceError

TAXONOMY = Path(__file__).parents[1] / "data" / "taxonomy.toml"
# Fields that mean nothing alone: a latitude needs its longitude (and the other way round).
PAIRED = (("latitude", "longitude"), ("longitude", "latitude"))


@lru_cache(maxsize=1)
def known_domains() -> frozenset[str]:
    """The LEAD IIP domain codes (data/taxonomy.toml)."""
    with open(TAXONOMY, "rb") as fh:
        return frozenset(domain["code"] for domain in tomllib.load(fh)["domains"])


def closest(name: str, choices) -> str:
    """ "; did you mean 'x' or 'y'?" for the choices nearest a wrong name, or "" when none is near."""
    near = difflib.get_close_matches(str(name).lower(), [str(c).lower() for c in choices], n=3, cutoff=0.6)
    by_lower = {str(c).lower(): str(c) for c in choices}
    if not near:
        return ""
    return "; did you mean " + " or ".join(repr(by_lower[n]) for n in near) + "?"


def check_keys(mapping: dict, known: set[str], what: str) -> None:
    """Every top-level key of the mapping is one the importer reads."""
    for name in mapping:
        if name not in known:
            raise SourceError(f"the {what} has an unknown key {name!r}{closest(name, known)}")


def check_domain(value, where: str) -> None:
    """A known IIP domain code."""
    domains = known_domains()
    if value not in domains:
        raise SourceError(
            f"{where} {value!r} is not an IIP domain{closest(str(value), domains)} (known: {sorted(domains)})"
        )


def check_pairs(fields, what: str, pairs=PAIRED) -> None:
    """A field given without the one it needs (latitude without longitude)."""
    for field, needs in pairs:
        if field in fields and needs not in fields:
            raise SourceError(f"the {what} gives {field!r} without {needs!r}: give both or neither")


def resolve_columns(wanted: dict[str, str], header, file_name: str) -> dict[str, str]:
    """The mapping's columns as the file spells them (case and surrounding spaces ignored); a column not in
    the file stops the import with the closest names the file has."""
    by_key = {}
    for column in header:
        by_key.setdefault(str(column).strip().casefold(), column)
    resolved = {}
    for field, column in wanted.items():
        found = by_key.get(str(column).strip().casefold())
        if found is None:
            raise SourceError(
                f"{file_name}: column {column!r} (for {field}) is not in the file{closest(column, header)}"
            )
        resolved[field] = found
    return resolved
