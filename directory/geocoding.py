"""The configured address geocoder: none offline (ZIP centroids and site places only), or geopy."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from .domain.geo import GeocoderUnavailable, Point


def make_address_geocoder(
    name: str, domain: str | None, user_agent: str | None
) -> Callable[[str], Point | None] | None:
    """Return a function address -> Point (or None), or None for the offline geocoder."""
    if not name or name == "offline":
        return None
    from geopy.exc import GeopyError
    from geopy.geocoders import get_geocoder_for_service

    options: dict = {"user_agent": user_agent or "lead-directory", "timeout": 5}
    if domain:
        options["domain"] = domain
        options["scheme"] = "http" if domain.startswith(("127.", "localhost")) else "https"
    geocoder = get_geocoder_for_service(name)(**options)

    @lru_cache(maxsize=1024)
    def geocode(address: str) -> Point | None:
        try:
            found = geocoder.geocode(address, exactly_one=True)
        except GeopyError as exc:
            raise GeocoderUnavailable(
                f"the geocoder did not answer: {exc.__class__.__name__}", "near"
            ) from exc
        if found is None:
            return None
        return Point(found.latitude, found.longitude, address, "exact")

    return geocode
