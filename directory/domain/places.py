"""Places as people write them, offline: site places by their start and common abbreviations ("Pioneer Sq"),
cross streets the site file lists ("2nd Ave & Jackson St"), and towns of the site's state (from the offline
ZIP data); and, when none fits, exactly what the offline geocoder accepts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from ..words import N_, Words
from .errors import ValidationError
from .geo import Point, haversine_km, zip_centroids
from .text import fold

# Both the typed text and the place names are reduced to these short forms before comparing.
ABBREVIATIONS = {
    "square": "sq",
    "street": "st",
    "saint": "st",
    "avenue": "ave",
    "av": "ave",
    "boulevard": "blvd",
    "road": "rd",
    "drive": "dr",
    "place": "pl",
    "mount": "mt",
    "station": "sta",
    "stn": "sta",
    "center": "ctr",
    "centre": "ctr",
    "international": "intl",
    "district": "dist",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
    "and": "&",
    "at": "&",
}
# Words that say what kind of street, not which: "2nd Ave S" and "2nd" name the same cross street.
STREET_KINDS = frozenset(
    {"st", "ave", "blvd", "rd", "dr", "pl", "way", "ln", "ct", "hwy", "pkwy", "n", "s", "e", "w", "ne", "nw"}
    | {"se", "sw"}
)
_TOKEN = re.compile(r"&|@|[^\W_]+", re.UNICODE)
STATE_NAMES = {
    "WA": "washington", "OR": "oregon", "CA": "california", "NY": "new york", "TX": "texas",
    "IL": "illinois", "FL": "florida", "NM": "new mexico", "NC": "north carolina", "MD": "maryland",
}  # fmt: skip


def tokens(text: str) -> list[str]:
    """The words of a place text, folded and abbreviated ("Pioneer Square" -> ["pioneer", "sq"])."""
    found = []
    for word in _TOKEN.findall(fold(text).replace("@", "&")):
        found.append(ABBREVIATIONS.get(word, word))
    return found


def _begins(typed: list[str], name: list[str]) -> bool:
    """Each typed word begins the place's word at the same position."""
    return 0 < len(typed) <= len(name) and all(n.startswith(t) for t, n in zip(typed, name, strict=False))


def _street(words: list[str]) -> tuple[str, ...]:
    return tuple(w for w in words if w not in STREET_KINDS) or tuple(words)


def _cross(words: list[str]) -> frozenset[tuple[str, ...]] | None:
    """The two streets of "A & B" (without their kinds), or None when the text is not two streets."""
    if words.count("&") != 1:
        return None
    at = words.index("&")
    first, second = words[:at], words[at + 1 :]
    if not first or not second:
        return None
    return frozenset({_street(first), _street(second)})


@lru_cache(maxsize=8)
def site_state(latitude: float, longitude: float) -> str | None:
    """The state of the ZIP code nearest a point (the site's centre): the state whose towns are known."""
    best = None
    for lat, lon, _city, state in zip_centroids().values():
        if abs(lat - latitude) > 1.5 or abs(lon - longitude) > 2:
            continue
        distance = haversine_km(latitude, longitude, lat, lon)
        if best is None or distance < best[0]:
            best = (distance, state)
    return best[1] if best else None


@lru_cache(maxsize=4)
def towns(state: str) -> dict[tuple[str, ...], tuple[float, float, str]]:
    """The towns of a state from the offline ZIP data: folded words -> (lat, lon, name), at the mean of
    their ZIP centroids."""
    sums: dict[tuple[str, ...], list] = {}
    for lat, lon, city, row_state in zip_centroids().values():
        if row_state != state or not city:
            continue
        entry = sums.setdefault(tuple(tokens(city)), [0.0, 0.0, 0, city.title()])
        entry[0] += lat
        entry[1] += lon
        entry[2] += 1
    return {key: (s[0] / s[2], s[1] / s[2], s[3]) for key, s in sums.items()}


def _without_state(words: list[str], state: str | None) -> list[str]:
    """The words without a trailing state ("Tacoma, WA", "Tacoma Washington")."""
    if not state:
        return words
    for tail in (tokens(state), tokens(STATE_NAMES.get(state, state))):
        if len(words) > len(tail) and words[-len(tail) :] == tail:
            return words[: -len(tail)]
    return words


def _split(text: str, state: str | None) -> list[list[str]]:
    """The comma-separated parts of a text as words, with a trailing ZIP code and state dropped."""
    parts = [tokens(part) for part in text.split(",")]
    parts = [p for p in parts if p]
    while parts and len(parts[-1]) == 1 and parts[-1][0].isdigit() and len(parts[-1][0]) == 5:
        parts.pop()
    if parts:
        parts[-1] = _without_state(parts[-1], state)
        if not parts[-1]:
            parts.pop()
    return parts


def find_place(
    text: str,
    places: Mapping[str, tuple[float, float]],
    center: tuple[float, float] | None,
    town_fallback: bool = True,
) -> Point | None:
    """A site place (`places`: name as written -> coordinates), cross street or town of the site's state
    (the state of `center`) that the text names, or None.

    A text that begins several site places is a ValidationError naming them (up to five)."""
    state = site_state(*center) if center else None
    parts = _split(text, state)
    if not parts:
        return None
    named = {name: tokens(name) for name in places}
    town_table = towns(state) if state else {}
    first = parts[0]
    cross = _cross(first)
    for name, words in named.items():
        if cross is not None and _cross(words) == cross:
            return Point(*places[name], name, "approximate")
    exact = [name for name, words in named.items() if words == first]
    if exact:
        return Point(*places[exact[0]], exact[0], "approximate")
    # A town: the text itself ("Tacoma"), before a place that merely begins with it ("Seattle Central ...").
    town = town_table.get(tuple(first))
    if town is not None:
        return Point(town[0], town[1], f"{town[2]}, {state}", "approximate")
    begun = [name for name, words in named.items() if _begins(first, words)]
    if len(begun) == 1:
        return Point(*places[begun[0]], begun[0], "approximate")
    if len(begun) > 1:
        shown = ", ".join(sorted(begun)[:5])
        raise ValidationError(
            Words(N_("%(value)r could be several places: %(shown)s"), value=text.strip(), shown=shown), "near"
        )
    # "street, town" that names nothing else: the town's centre, saying so (offline only: an address
    # geocoder places the street itself).
    town = town_table.get(tuple(parts[-1])) if len(parts) > 1 and town_fallback else None
    if town is not None:
        return Point(town[0], town[1], f"{town[2]}, {state} (town centre)", "approximate")
    return None


def offline_help(text: str, examples: list[str], state: str | None) -> str:
    """What the offline geocoder accepts, and how to configure an address geocoder."""
    shown = ", ".join(f'"{name}"' for name in examples[:2]) or '"Downtown"'
    town = f"a town in {state} (e.g. a city name)" if state else "a town of the site's state"
    return (
        f"could not find the place {text.strip()!r}. Without an address geocoder this site finds: "
        f'lat,lon (e.g. "47.60,-122.33"); a US ZIP code; a place of this site, or its start ({shown}; '
        f'"Sq", "St", "Ave" are fine); cross streets the site lists ("A & B"); {town}; or an address ending '
        "in a ZIP code (placed at the ZIP's centre). For street addresses, the operator sets GEOCODER "
        "(e.g. nominatim) and GEOCODER_DOMAIN in the environment (README: Geocoding)."
    )
