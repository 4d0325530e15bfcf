"""The request's context for views: the site, its clock, the reference data, the geocoder, and the one
search runner that the page and the API share."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from flask import current_app
from flask_login import current_user

from ..config import SiteConfig
from ..domain.access import STAFF
from ..domain.clock import SiteClock
from ..types import utcnow


def clock() -> SiteClock:
    """The site clock: the site's time zone, and the app's CLOCK (tests fix it) or the system clock."""
    return SiteClock(site().time_zone, current_app.config.get("CLOCK") or utcnow)


def now() -> datetime:
    """The current time, in UTC (the site clock's)."""
    return clock().now()


def site() -> SiteConfig:
    """The site configuration."""
    return current_app.config["SITE"]


def viewer_is_staff() -> bool:
    """Whether the viewer is a signed-in staff or provider account."""
    return bool(getattr(current_user, "is_authenticated", False)) and current_user.role in STAFF


_REFERENCE_TTL_SECONDS = 60.0
KM_PER_MILE = 1.609344


def reference():
    """The reference data (taxonomy, languages, populations, places), cached for a minute per app."""
    import time

    from ..domain.reference import Reference
    from ..extensions import db

    cache = current_app.extensions.setdefault("directory_reference", {})
    loaded_at = cache.get("at", 0.0)
    if "value" not in cache or time.monotonic() - loaded_at > _REFERENCE_TTL_SECONDS:
        cache["value"] = Reference.load(db.session)
        cache["at"] = time.monotonic()
    return cache["value"]


def address_geocoder():
    """The configured address geocoder (None offline), built once per app."""
    from ..geocoding import make_address_geocoder

    cache = current_app.extensions.setdefault("directory_geocoder", {})
    if "value" not in cache:
        config = current_app.config
        cache["value"] = make_address_geocoder(
            config["GEOCODER"], config.get("GEOCODER_DOMAIN"), config.get("GEOCODER_USER_AGENT")
        )
    return cache["value"]


def run_search(params, map_limit: int = 0):
    """Validate a request's search parameters and run the search: the one runner of the page and the API.

    With `map_limit`, one search gives up to that many results for the map and the listed page is cut from
    them (the same order: the ranking is exact for everything it returns). Returns (page, map results or
    None).
    """
    from ..domain.disclosure import disclosure_for
    from ..domain.search import SearchPage, parse_query, search
    from ..extensions import db

    config, ref, at = site(), reference(), now()
    query = parse_query(params, ref, address_geocoder(), config.default_radius_km, config.center)
    # Filters select by what this viewer may see (a hidden badge must not decide membership).
    query = dataclasses.replace(query, disclosure=disclosure_for(config, viewer_is_staff()))
    if not map_limit:
        return search(db.session, query, config, at, ref), None
    full = search(db.session, dataclasses.replace(query, page=1, per_page=map_limit), config, at, ref)
    start = (query.page - 1) * query.per_page
    if full.total > map_limit and start + query.per_page > map_limit:
        return search(db.session, query, config, at, ref), full.items
    items = full.items[start : start + query.per_page]
    page = SearchPage(
        items=items,
        total=full.total,
        page=query.page,
        per_page=query.per_page,
        query=query,
        confidential={service.id for service, _ in items} & full.confidential,
    )
    return page, full.items


def reader_locale(language: str | None = None) -> str:
    """The Babel locale a page is read in: the given language, else the page's (the reader's choice, their
    browser's, then the site's), else the site's (US forms by default)."""
    from flask import has_request_context

    from ..domain.local_time import reader_locale as for_language

    if language is None and has_request_context():
        from .language import page_language

        language = page_language()
    return for_language(language or site().language)


def distance_text(km: float | None) -> str:
    """A distance in the site's unit (site file distance_unit: mi or km), to a tenth."""
    if km is None:
        return ""
    if site().distance_unit == "mi":
        return f"{km / KM_PER_MILE:.1f} mi"
    return f"{km:.1f} km"


def install(app) -> None:
    """Template filters for times people read: the site's zone and the reader's language, never UTC."""
    from ..domain import local_time

    @app.template_filter("local_time")
    def local_time_filter(moment: datetime | None, language: str | None = None) -> str:
        if moment is None:
            return ""
        return local_time.moment_text(moment, site().time_zone, reader_locale(language))

    @app.template_filter("local_day")
    def local_day_filter(moment: datetime | None, language: str | None = None) -> str:
        return (
            "" if moment is None else local_time.day_text(moment, site().time_zone, reader_locale(language))
        )

    @app.template_filter("site_date")
    def site_date_filter(moment: datetime) -> str:
        """The site's calendar day of a moment as YYYY-MM-DD (for date inputs)."""
        return clock().local(moment).date().isoformat()

    app.add_template_filter(distance_text, "distance")
    app.jinja_env.globals["unread_notices"] = unread_notices
    app.jinja_env.globals["outlook_for"] = outlook_for
    app.jinja_env.globals["call_for"] = call_for

    @app.template_filter("from_now")
    def from_now_filter(moment: datetime | None, language: str | None = None) -> str:
        return "" if moment is None else local_time.relative_text(moment, now(), reader_locale(language))


def unread_notices() -> int:
    """How many of the signed-in account's notices are unread (the nav's count); 0 when signed out, or when
    the database cannot answer (an error page must still render)."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import SQLAlchemyError

    from ..extensions import db
    from ..models import Notification

    if not getattr(current_user, "is_authenticated", False):
        return 0
    try:
        return (
            db.session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
            )
            or 0
        )
    except SQLAlchemyError:
        return 0


def outlook_for(service, staff: bool | None = None) -> str:
    """Templates: the sentence of what a new referral to the service gets and why (serializers.outlook)."""
    from . import serializers

    return serializers.outlook(service, now(), site(), viewer_is_staff() if staff is None else staff)


def call_for(service) -> tuple[str, str] | None:
    """Templates: (tel: URL, number as written) of the service's first phone that takes calls, or None."""
    from .results import tel_link

    return tel_link(service.phones)
