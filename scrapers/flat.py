"""Shared pieces of the flat one-row-per-site parsers (HUD, SAMHSA, iCarol, generic CSV)."""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from .common import check_coordinates, plain, repair_zip, state_code
from .records import AddressRecord, LocationRecord, ParseResult


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


def place(result: ParseResult, where: str, sid: str, cells: Where) -> LocationRecord | None:
    """A location from flat address and coordinate columns, or None if it has no place (see `unplaced`).

    Coordinates that fail the checks are dropped with a reason; a blank address keeps the source's
    coordinates as approximate and shows no address; a bare ZIP is placed at its centroid (precision zip).
    """
    street, city, state, zip_code, latitude, longitude, street2 = cells
    location = LocationRecord(sid)
    postal, note = repair_zip(zip_code)
    if note:
        result.note(where, sid, note, field="postal_code")
    state_value, note = state_code(state)
    if note:
        result.note(where, sid, note, field="state_province")
    coords, reason = check_coordinates(latitude, longitude)
    if reason:
        result.note(where, sid, reason + ": left out", action="rejected", field="coordinates")
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
