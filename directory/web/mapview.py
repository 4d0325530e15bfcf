"""The map of search results and of a service: folium (Leaflet) rendered inline, markers sent as data.

folium builds the map, the tile layer, the cluster group, the search circle and the bounds; the markers
themselves travel as one compact JSON array that static/js/map.js turns into DivIcon markers, so 2,000
results cost a few hundred kilobytes instead of a JavaScript block each. Leaflet and Leaflet.markercluster
come from the xstatic packages through the `vendor` blueprint: nothing is loaded from a CDN.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import Blueprint, url_for
from flask_babel import gettext

from ..domain import capacity as cap
from ..domain.access import REFERRERS
from ..words import N_
from . import context, serializers
from .mapbase import MapParts

# Status: (symbol, short text on the marker). Colour comes from the stylesheet (status-<code>).
# The short texts are marked here and said in the page's language (payload, legend).
STATUS_MARKS = {
    cap.LEAD_FUNDED: ("★", N_("LEAD")),
    cap.COORDINATED_ENTRY: ("⇄", N_("CE")),
    cap.SPARE_CAPACITY: ("✓", N_("Free")),
    cap.DISPLACEMENT: ("⚠", N_("Wait")),
    cap.FULL: ("✕", N_("Full")),
    cap.UNVERIFIED: ("?", N_("Call")),
    cap.OPEN_ACCESS: ("○", N_("Open")),
}
STATUSES = tuple(STATUS_MARKS)
# Key badges shown in a popup, as bits of one integer per marker (all public attributes).
BADGES = (
    ("low_barrier", N_("Low barrier")),
    ("housing_first", N_("Housing First")),
    ("no_id_required", N_("No ID needed")),
    ("trauma_informed", N_("Trauma-informed")),
    ("peer_run", N_("Peer staff")),
    ("religious_requirement", N_("Religious requirement")),
    ("conversion_therapy", N_("Conversion therapy")),
)
# At most this many results go on the map (the list pages through them all).
MAP_LIMIT = 2500

bp = Blueprint("vendor", __name__)


@bp.get("/vendor/<name>/<version>/<path:filename>")
def asset(name: str, version: str, filename: str):
    """A file of a packaged JavaScript library (xstatic): a year under its content hash (assets.py)."""
    from .assets import vendor_view

    return vendor_view(name, version, filename)


def build_map(
    points: list[tuple[float, float]],
    center: tuple[float, float] | None = None,
    radius_km: float | None = None,
    cluster: bool = True,
) -> MapParts:
    """A folium map fitted to the points (and the search circle), with an empty cluster group for map.js.

    folium (and numpy under it) is imported on the first map drawn, so processes that serve only the API
    never load it."""
    from .foliummap import render_map

    return render_map(points, center, radius_km, cluster)


def map_location(service, center: tuple[float, float] | None = None):
    """The location a service is drawn at: a public one with coordinates (nearest the centre), or None."""
    placed = [
        loc
        for loc in service.locations
        if not loc.confidential and loc.latitude is not None and loc.longitude is not None
    ]
    if not placed:
        return None
    if center is None:
        return min(placed, key=lambda loc: loc.id)
    return min(placed, key=lambda loc: ((loc.latitude - center[0]) ** 2, (loc.longitude - center[1]) ** 2))


class Marker(NamedTuple):
    """One marker: a tuple, so it travels as a compact JSON array whose field order payload() names."""

    id: int
    lat: float
    lon: float
    status: int  # an index into payload()'s statuses
    hollow: int  # 1 when the location is not exact (approximate or a zip code): drawn hollow
    name: str
    org: str
    km: float | None
    age: str  # how long ago capacity was confirmed; empty for open access
    badges: int  # bit i set when the service has BADGES[i]


def marker_row(service, distance: float | None, at, config, center=None) -> Marker | None:
    """One marker, or None when the service has no public location to show."""
    location = map_location(service, center)
    if location is None:
        return None
    staff = context.viewer_is_staff()
    status = serializers.service_status(service, at, config, staff)
    age = serializers.age_text(service.capacity.confirmed_at if service.capacity else None, at)
    # The badges this viewer may see: a derived one (low barrier) only where hidden badges cannot decide it.
    attributes = serializers.attributes_dict(service, config, staff)
    bits = 0
    for i, (name, _) in enumerate(BADGES):
        if attributes.get(name):
            bits |= 1 << i
    return Marker(
        id=service.id,
        lat=round(location.latitude, 5),
        lon=round(location.longitude, 5),
        status=STATUSES.index(status),
        hollow=0 if location.precision == "exact" else 1,
        name=service.name,
        org=service.organization.name,
        km=None if distance is None else round(distance, 2),
        age="" if status == cap.OPEN_ACCESS else age,
        badges=bits,
    )


def payload(markers: list[Marker]) -> dict:
    """The data map.js draws: the markers and the tables their small integers point into."""
    from flask_login import current_user

    role = getattr(current_user, "role", None) if getattr(current_user, "is_authenticated", False) else None
    # Anonymous viewers follow the link to sign in first; roles that cannot refer do not get it.
    can_refer = role is None or role in REFERRERS
    return {
        "fields": list(Marker._fields),
        "statuses": legend(),
        "badges": [gettext(label) for _, label in BADGES],
        # The popup's own words, in the page's language (map.js puts the values in for %(age)s and %(km)s).
        "words": {
            "numbers": gettext("numbers %(age)s"),
            "away": gettext("%(km)s km away"),
            "approximate": gettext("approximate location"),
            "check": gettext("Check referral"),
        },
        "serviceUrl": url_for("public.service_page", service_id="0")[:-1],
        "checkUrl": url_for("referrals.check_page", service_id="0")[:-1] if can_refer else None,
        "markers": markers,
    }


def legend() -> list[dict]:
    """The legend rows: each status with its symbol, marker text and label, in the page's language."""
    return [
        {
            "code": code,
            "symbol": symbol,
            "text": gettext(text),
            "label": gettext(serializers.STATUS_LABELS[code]),
        }
        for code, (symbol, text) in STATUS_MARKS.items()
    ]


def search_map(query, items) -> tuple[MapParts, dict, int]:
    """The map of a search's results (all of them up to MAP_LIMIT, not only the listed page).

    Returns the map, its data and how many results had no public location to draw.
    """
    at, config = context.now(), context.site()
    center = (query.center.latitude, query.center.longitude) if query.center else None
    markers = [m for m in (marker_row(s, d, at, config, center) for s, d in items) if m is not None]
    parts = build_map([(m.lat, m.lon) for m in markers], center, query.radius_km if center else None)
    return parts, payload(markers), len(items) - len(markers)


def service_map(service) -> tuple[MapParts, dict] | None:
    """The map of one service's page, or None when it has no public location (confidential ones never do)."""
    marker = marker_row(service, None, context.now(), context.site())
    if marker is None:
        return None
    return build_map([(marker.lat, marker.lon)], cluster=False), payload([marker])


def slip_map(service) -> tuple[MapParts, dict] | None:
    """The small map printed on a referral slip: where the service is and nothing about its capacity (the slip
    is the participant's: no status, no badges, no referral link). None without a public location."""
    marker = marker_row(service, None, context.now(), context.site())
    if marker is None:
        return None
    # Status 0 points at the one neutral "place" status below; no confirmation age, no badges.
    marker = marker._replace(status=0, age="", badges=0)
    data = payload([marker])
    place = {"code": "place", "label": "", "symbol": "●", "text": ""}
    data.update(statuses=[place], badges=[], checkUrl=None)
    return build_map([(marker.lat, marker.lon)], cluster=False), data
