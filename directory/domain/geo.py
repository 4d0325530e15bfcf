"""Places and distances: parse `near`, resolve it (offline ZIP centroids and site places, or geopy),
bounding boxes for indexed prefiltering, and exact geodesic distances (WGS84)."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from geographiclib.geodesic import Geodesic

from ..words import N_, Words
from .errors import DomainError, ValidationError

EARTH_RADIUS_KM = 6371.0088
_WGS84 = Geodesic.WGS84
_LATLON = re.compile(r"^\s*([+-]?\d{1,3}(?:\.\d+)?)\s*,\s*([+-]?\d{1,3}(?:\.\d+)?)\s*$")
_ZIP = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")
_ZIP_IN_TEXT = re.compile(r"\b(\d{5})(?:-\d{4})?\s*$")


class GeocoderUnavailable(DomainError):
    """The configured geocoder did not answer (network, rate limit): try again later."""

    status = 503
    code = "geocoder_unavailable"


@dataclass(frozen=True)
class Point:
    """A resolved location: coordinates, a label to show, and how precise it is."""

    latitude: float
    longitude: float
    label: str
    precision: str = "exact"


def check_coordinates(latitude: float, longitude: float, field: str) -> None:
    """Raise ValidationError unless the pair is a valid WGS84 position."""
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise ValidationError(Words(N_("coordinates must be finite numbers")), field)
    if not -90 <= latitude <= 90:
        raise ValidationError(Words(N_("latitude %(latitude)s is outside -90..90"), latitude=latitude), field)
    if not -180 <= longitude <= 180:
        raise ValidationError(
            Words(N_("longitude %(longitude)s is outside -180..180"), longitude=longitude), field
        )


def parse_latlon(text: str) -> tuple[float, float] | None:
    """Parse "lat,lon" (decimal degrees); None if the text is not of that form."""
    match = _LATLON.match(text)
    if not match:
        return None
    return float(match.group(1)), float(match.group(2))


_zip_table: dict[str, tuple[float, float, str, str]] | None = None
_zip_lock = threading.Lock()


def zip_centroids() -> dict[str, tuple[float, float, str, str]]:
    """US ZIP centroids from the `zipcodes` package (offline): zip -> (lat, lon, city, state)."""
    global _zip_table
    if _zip_table is None:
        with _zip_lock:
            if _zip_table is None:
                import zipcodes

                table = {}
                for row in zipcodes.list_all():
                    try:
                        lat, lon = float(row["lat"]), float(row["long"])
                    except (TypeError, ValueError):
                        continue
                    # Military ZIPs (APO/FPO/DPO, 872 of them) carry 0,0: they name no place, and a point
                    # in the Gulf of Guinea must never stand in for one.
                    if lat == 0 and lon == 0:
                        continue
                    table[row["zip_code"]] = (lat, lon, row["city"], row["state"])
                _zip_table = table
    return _zip_table


def zip_point(zip_code: str) -> Point | None:
    """The centroid of a US ZIP code, or None if unknown."""
    row = zip_centroids().get(zip_code)
    if row is None:
        return None
    return Point(row[0], row[1], f"{zip_code} ({row[2]}, {row[3]})", "zip")


AddressGeocoder = Callable[[str], Point | None]


def resolve_near(
    text: str,
    places: Mapping[str, tuple[float, float]],
    geocode_address: AddressGeocoder | None = None,
    field: str = "near",
) -> Point:
    """Resolve `near`: "lat,lon", a US ZIP, a site place name, or an address.

    With no address geocoder (the offline default), an address ending in a ZIP resolves to that
    ZIP's centroid, marked approximate; anything else that cannot be resolved is a ValidationError.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError(Words(N_("give a place: lat,lon, a ZIP, an address or a place name")), field)
    if len(text) > 300:
        raise ValidationError(Words(N_("place text is too long (300 characters at most)")), field)
    latlon = parse_latlon(text)
    if latlon is not None:
        check_coordinates(*latlon, field)
        return Point(latlon[0], latlon[1], f"{latlon[0]:.4f}, {latlon[1]:.4f}")
    zip_match = _ZIP.match(text)
    if zip_match:
        point = zip_point(zip_match.group(1))
        if point is None:
            raise ValidationError(Words(N_("unknown US ZIP code %(value)s"), value=zip_match.group(1)), field)
        return point
    place = places.get(text.casefold())
    if place is not None:
        return Point(place[0], place[1], text, "approximate")
    if geocode_address is not None:
        point = geocode_address(text)
        if point is not None:
            return point
    zip_in_text = _ZIP_IN_TEXT.search(text)
    if zip_in_text:
        point = zip_point(zip_in_text.group(1))
        if point is not None:
            return Point(point.latitude, point.longitude, text, "approximate")
    raise ValidationError(Words(N_("could not find the place %(text)r"), text=text), field)


def geodesic_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Exact distance on the WGS84 ellipsoid, in km (Karney's algorithm, as geopy uses)."""
    return _WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"] / 1000.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on the mean sphere, in km (within 0.6% of the geodesic)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(latitude: float, longitude: float, radius_km: float) -> tuple[float, float, float, float]:
    """A box (south, north, west, east) that surely contains every point within radius_km.

    Generous by a few percent: the exact distance decides afterwards. Boxes that would cross a pole
    or the antimeridian are widened to the full longitude range rather than split.
    """
    margin = 1.02
    dlat = radius_km * margin / 110.574  # km per degree of latitude is at least 110.574
    south, north = max(-90.0, latitude - dlat), min(90.0, latitude + dlat)
    widest = max(abs(south), abs(north))
    if widest >= 89.0:
        return south, north, -180.0, 180.0
    dlon = radius_km * margin / (111.320 * math.cos(math.radians(widest)))
    west, east = longitude - dlon, longitude + dlon
    if west < -180.0 or east > 180.0:
        return south, north, -180.0, 180.0
    return south, north, west, east
