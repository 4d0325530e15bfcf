"""The configured address geocoder: none offline (ZIP centroids and site places only), or geopy."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from .domain.geo import GeocoderUnavailable, Point
from .words import N_, Words


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
                Words(N_("the geocoder did not answer: %(name)s"), name=exc.__class__.__name__), "near"
            ) from exc
        if found is None:
            return None
        return Point(found.latitude, found.longitude, address, "exact")

    return geocode


# --- Geocoding imported locations: cached, rate-limited, offline by default ------------------------------

PUBLIC_NOMINATIM_DELAY = 1.0  # seconds between requests: the public Nominatim usage policy


def address_key(text: str) -> str:
    """The cache key of an address: lower case, punctuation and repeated spaces removed."""
    import re

    return re.sub(r"\s+", " ", re.sub(r"[^\w\s-]", " ", text.casefold())).strip()[:400]


class LocationGeocoder:
    """Geocodes addresses for imported locations, with the database cache in front of the network.

    Offline (the default), an address is placed at its ZIP's centroid, marked approximate. With a geopy
    geocoder (`GEOCODER`), requests are spaced by geopy's RateLimiter (1 per second for public Nominatim),
    retried on errors, and every answer, including "not found", is cached by normalized address.
    """

    def __init__(self, config: dict):
        self.name = config.get("GEOCODER") or "offline"
        self.lookup = None
        if self.name != "offline":
            from geopy.extra.rate_limiter import RateLimiter
            from geopy.geocoders import get_geocoder_for_service

            domain = config.get("GEOCODER_DOMAIN")
            options: dict = {
                "user_agent": config.get("GEOCODER_USER_AGENT") or "lead-directory",
                "timeout": float(config.get("GEOCODER_TIMEOUT", 5)),
            }
            if domain:
                options["domain"] = domain
                options["scheme"] = "http" if domain.startswith(("127.", "localhost")) else "https"
            geocoder = get_geocoder_for_service(self.name)(**options)
            public = self.name == "nominatim" and not domain
            delay = config.get("GEOCODER_MIN_DELAY")
            delay = float(delay) if delay is not None else (PUBLIC_NOMINATIM_DELAY if public else 0.0)
            self.lookup = RateLimiter(
                geocoder.geocode,
                min_delay_seconds=delay,
                max_retries=int(config.get("GEOCODER_RETRIES", 2)),
                error_wait_seconds=float(config.get("GEOCODER_ERROR_WAIT", 5)),
                swallow_exceptions=False,
            )

    def geocode(self, session, address: str, postal_code: str | None) -> Point | None:
        """A point for the address (cached), or None when it cannot be placed.

        Raises GeocoderUnavailable when the service fails (after retries): nothing is cached then.
        """
        from .domain.geo import zip_point

        if self.lookup is None:
            point = zip_point(postal_code) if postal_code else None
            return None if point is None else Point(point.latitude, point.longitude, address, "approximate")
        from geopy.exc import GeopyError

        from .models import GeocodeCache

        key = address_key(address)
        cached = session.get(GeocodeCache, key)
        if cached is not None and cached.geocoder == self.name:
            if cached.latitude is None:
                return None
            return Point(cached.latitude, cached.longitude, address, cached.precision or "exact")
        try:
            found = self.lookup(address, exactly_one=True)
        except GeopyError as exc:
            raise GeocoderUnavailable(
                Words(N_("the geocoder did not answer: %(name)s"), name=exc.__class__.__name__), "address"
            ) from exc
        point = None
        if found is not None and -90 <= found.latitude <= 90 and -180 <= found.longitude <= 180:
            point = Point(found.latitude, found.longitude, address, "exact")
        row = cached or GeocodeCache(address_key=key)
        row.geocoder = self.name
        row.latitude = point.latitude if point else None
        row.longitude = point.longitude if point else None
        row.precision = "exact" if point else None
        session.add(row)
        return point


def geocode_pending(session, config: dict, limit: int | None = None, progress=None, batch: int = 50) -> dict:
    """Place locations that have an address but no coordinates (never confidential ones, never a guess
    for a blank address). Writes in small transactions, so an interruption keeps what was done.

    Returns counts: placed, not_found, failed (service errors; left pending), and whether it stopped early.
    """
    from sqlalchemy import select

    from .database import begin_write
    from .models import Address, Location

    geocoder = LocationGeocoder(config)
    statement = (
        select(
            Location.id,
            Address.address_1,
            Address.address_2,
            Address.city,
            Address.state_province,
            Address.postal_code,
        )  # fmt: skip
        .join(Address, Address.location_id == Location.id)
        .where(Location.latitude.is_(None), Location.confidential.is_(False), Address.address_1 != "")
        .order_by(Location.id)
    )
    if limit:
        statement = statement.limit(limit)
    pending = session.execute(statement).all()
    session.rollback()
    counts = {"placed": 0, "not_found": 0, "failed": 0, "pending": len(pending)}
    done = 0
    for start in range(0, len(pending), batch):
        begin_write(session)
        stop = False
        for row in pending[start : start + batch]:
            region = f"{row.state_province} {row.postal_code or ''}".strip()
            text = ", ".join(p for p in (row.address_1, row.address_2, row.city, region) if p)
            try:
                point = geocoder.geocode(session, text, row.postal_code)
            except GeocoderUnavailable as exc:
                counts["failed"] += 1
                if "RateLimited" in str(exc):
                    stop = True  # the service asked us to slow down: stop and leave the rest pending
                    break
                continue
            finally:
                done += 1
                if progress:
                    progress(done, len(pending))
            if point is None:
                counts["not_found"] += 1
                continue
            location = session.get(Location, row.id)
            location.latitude, location.longitude, location.precision = (
                round(point.latitude, 7), round(point.longitude, 7), point.precision,
            )  # fmt: skip
            counts["placed"] += 1
        session.commit()
        if stop:
            counts["stopped"] = "rate limited"
            break
    counts["pending"] -= counts["placed"]
    return counts
