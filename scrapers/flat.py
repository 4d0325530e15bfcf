"""Shared pieces of the flat one-row-per-site parsers (HUD, SAMHSA, iCarol, generic CSV)."""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from .common import (
    SourceError,
    check_coordinates,
    check_zip_state,
    coordinate_order,
    plain,
    repair_zip,
    state_code,
)
from .languages import unique
from .records import AddressRecord, LocationRecord, ParseResult, ServiceRecord


def key(*parts: str | None) -> str:
    """A stable source id from fields, for sources that give none (case and spacing ignored)."""
    text = "|".join(re.sub(r"\s+", " ", (p or "").strip().lower()) for p in parts)
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def slug(text: str) -> str:
    """A readable id part."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "x"


class Where(NamedTuple):
    """A flat row's address and coordinate cells, as the source wrote them."""

    street: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    latitude: object = None
    longitude: object = None
    street2: str | None = None


# What `--swap-coordinates` takes: "auto" reads a file-wide swap the other way round (one note), "no"
# refuses such a file whole (nothing written) so the data manager fixes the source instead.
SWAP_CHOICES = ("auto", "no")


def check_swap_choice(value: str) -> str:
    """The --swap-coordinates value, checked (a SourceError naming the choices otherwise)."""
    if value not in SWAP_CHOICES:
        raise SourceError(f"--swap-coordinates takes {' or '.join(SWAP_CHOICES)}, not {value!r}")
    return value


def swapped_file(result: ParseResult, file_name: str, pairs, swap: str = "auto") -> bool:
    """The file-wide coordinate check: True (with ONE note for the file) when the file's latitude and
    longitude columns are the wrong way round, so `place` reads every row's pair swapped.

    With swap "no" such a file is refused whole: one message naming the option, nothing read."""
    note = coordinate_order(pairs)
    if note and check_swap_choice(swap) == "no":
        found = note.split(": read the other way round")[0]
        raise SourceError(
            f"{file_name}: {found}: the file is refused and nothing was written "
            "(--swap-coordinates no); import it with --swap-coordinates auto to read every pair the other "
            "way round, or fix the file's two column headers"
        )
    if note:
        result.note(file_name, None, note, kind="file")
    return note is not None


def place(
    result: ParseResult, where: str, sid: str, cells: Where, swap: bool = False
) -> LocationRecord | None:
    """A location from flat address and coordinate columns, or None if it has no place (see `unplaced`).

    Coordinates that fail the checks are dropped with a reason (Web Mercator metres are converted); a
    ZIP of another state than the address's is dropped; a blank address keeps the source's coordinates as
    approximate and shows no address; a bare ZIP is placed at its centroid (precision zip). `swap` reads
    the pair the other way round (a file-wide swap, see `swapped_file`).
    """
    street, city, state, zip_code, latitude, longitude, street2 = cells
    if swap:
        latitude, longitude = longitude, latitude
    location = LocationRecord(sid)
    postal, note = repair_zip(zip_code)
    state_value, state_note = state_code(state)
    if state_note:
        result.note(where, sid, state_note, field="state_province")
    mismatch = check_zip_state(postal, state_value)
    if mismatch:
        postal, note = None, mismatch
    if note:
        result.note(
            where, sid, note, action="rejected" if postal is None else "repaired", field="postal_code"
        )
    coords, reason = check_coordinates(latitude, longitude)
    if reason:
        action = "rejected" if coords is None else "repaired"
        result.note(
            where, sid, reason + (": left out" if coords is None else ""), action, field="coordinates"
        )
    street, city = plain(street, 300), plain(city, 100)
    if street and city and state_value:
        location.address = AddressRecord(street, city, state_value, postal, plain(street2, 300))
        if coords:
            location.latitude, location.longitude = coords
        return location
    if coords:
        location.latitude, location.longitude = coords
        location.precision = "approximate"
        result.note(
            where, sid, "no street address: the source's coordinates kept as approximate", field="address"
        )
        return location
    if postal:
        from directory.domain.geo import zip_point

        point = zip_point(postal)
        if point is not None:
            location.latitude, location.longitude, location.precision = point.latitude, point.longitude, "zip"
            result.note(where, sid, "only a ZIP: placed at the ZIP centroid", field="address")
            return location
    return None


NO_PLACE = "no usable address, ZIP or coordinates"


def unplaced(result: ParseResult, where: str, sid: str, allowed: bool) -> bool:
    """For a record `place` found no place for: True when it must be left out (rejected), False when the
    mapping allows services with no location (noted on the record either way)."""
    if allowed:
        result.note(
            where, sid, f"{NO_PLACE}: imported with no location (the mapping allows it)", field="location"
        )
        return False
    result.reject(where, sid, f"{NO_PLACE} (the mapping does not allow 'no location')")
    return True


# Medication words of treatment locators, as the LEAD flags they set (brand names included).
MEDICATIONS = (
    ("moud_methadone", re.compile(r"\bmethadone\b", re.I)),
    ("moud_buprenorphine", re.compile(r"\b(?:buprenorphine|suboxone|subutex|sublocade|zubsolv)\b", re.I)),
    ("moud_naltrexone", re.compile(r"\b(?:naltrexone|vivitrol)\b", re.I)),
)


def medication_flags(*texts: str | None) -> dict[str, bool]:
    """The medication flags a row's words name (`Methadone`, `Suboxone` ...): only the true ones."""
    text = " ".join(t for t in texts if t)
    return {flag: True for flag, words in MEDICATIONS if words.search(text)}


def _union(first: tuple, second: tuple) -> tuple:
    return tuple(dict.fromkeys((*first, *second)))


def unite(service: ServiceRecord, other: ServiceRecord) -> None:
    """Fold another row of the same facility into its service: medications (and every other flag a row
    sets), languages, populations and phones are united; the first row's other values stay."""
    for name, value in other.flags.items():
        if value:
            service.flags[name] = True
    service.phones = _union(service.phones, other.phones)
    service.populations = _union(service.populations, other.populations)
    service.languages = unique((*service.languages, *other.languages))
