"""The importers by name: what each reads and its pure parser (used by the CLI and scheduled imports)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .common import SourceError
from .records import ParseResult


@dataclass(frozen=True)
class Importer:
    """A source format: its name, what it reads, and its pure parser."""

    name: str
    description: str
    parse: Callable[..., ParseResult]
    needs_mapping: bool = False
    full: bool = True
    checks_swap: bool = False  # reads a file-wide coordinate swap (so --swap-coordinates applies)


def _hsds(path, mapping=None, allow=(), domain=None):
    from . import hsds

    return hsds.parse(path, lazy=True, domain=domain)


def _hud(path, mapping=None, allow=(), swap="auto"):
    from . import hud

    return hud.parse(path, swap=swap)


def _samhsa(path, mapping=None, allow=(), swap="auto"):
    from . import samhsa

    return samhsa.parse(path, swap=swap)


def _icarol(path, mapping=None, allow=()):
    from . import icarol

    return icarol.parse(path)


def _csv(path, mapping=None, allow=(), swap="auto"):
    from . import generic_csv

    return generic_csv.parse(path, mapping, swap=swap)


def _json(path, mapping=None, allow=(), swap="auto"):
    from . import json_source

    return json_source.parse(path, mapping, allow, swap=swap)


def _html(path, mapping=None, allow=()):
    from . import html

    return html.parse(path, mapping, allow)


IMPORTERS: dict[str, Importer] = {
    i.name: i
    for i in (
        Importer("hsds", "Open Referral HSDS 1.x or 3.x: nested JSON or CSV datapackage (detected)", _hsds),
        Importer("icarol", "iCarol 211 Resource CSV export", _icarol),
        Importer(
            "hud-inventory", "HUD shelter / housing inventory rows with bed counts", _hud, checks_swap=True
        ),
        Importer("samhsa", "SAMHSA treatment facility list", _samhsa, checks_swap=True),
        Importer(
            "csv",
            "a spreadsheet (CSV) with a column mapping file (--mapping, YAML or JSON)",
            _csv,
            True,
            checks_swap=True,
        ),
        Importer(
            "json",
            "JSON lines, a GeoJSON FeatureCollection or a vendor's JSON response, with a mapping of dotted "
            "paths (--mapping, YAML or JSON; a URL is fetched safely)",
            _json,
            True,
            checks_swap=True,
        ),
        Importer(
            "html", "a provider's web page, with CSS selectors in --mapping (YAML or JSON)", _html, True
        ),
    )
}


def parse_source(
    source: str,
    location: str,
    mapping: str | None = None,
    allow=(),
    domain: str | None = None,
    swap_coordinates: str = "auto",
) -> ParseResult:
    """Run one importer's pure parser; allow: origins a URL fetch may reach although not public; domain:
    the default IIP domain of services nothing else places (the hsds importer only); swap_coordinates:
    "auto" repairs a file-wide latitude/longitude swap with one note, "no" refuses such a file."""
    from .flat import check_swap_choice

    importer = IMPORTERS[source]
    if importer.needs_mapping and not mapping:
        raise SourceError(f"{source} needs --mapping FILE")
    if check_swap_choice(swap_coordinates) != "auto":
        if not importer.checks_swap:
            swappers = ", ".join(sorted(name for name, i in IMPORTERS.items() if i.checks_swap))
            raise SourceError(f"--swap-coordinates is for the importers that read flat files ({swappers})")
        return importer.parse(location, mapping, allow, swap=swap_coordinates)
    if domain is not None:
        if source != "hsds":
            raise SourceError(
                f"--domain is for the hsds importer (a {source} source sets its domain otherwise)"
            )
        return importer.parse(location, mapping, allow, domain)
    return importer.parse(location, mapping, allow)
