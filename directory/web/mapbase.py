"""What the map's two sides share: the rendered parts, the bounds to fit, the vendored library files.

mapview (markers, pages) and foliummap (folium, imported on the first map drawn) both import this module,
and neither imports the other at load time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup
from xstatic.pkg import leaflet as xs_leaflet
from xstatic.pkg import leaflet_markercluster as xs_cluster

OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'

VENDOR = {
    "leaflet": (xs_leaflet.BASE_DIR, xs_leaflet.VERSION),
    "markercluster": (xs_cluster.BASE_DIR, xs_cluster.VERSION),
}
VENDOR_SUFFIXES = (".js", ".css", ".png", ".map")


def vendor_url(name: str, filename: str) -> str:
    """The URL of a vendored library file, fingerprinted by its content (cached for a year)."""
    from .assets import vendor_asset_url

    return vendor_asset_url(name, filename)


@dataclass(frozen=True)
class MapParts:
    """A rendered map: folium's header (links), html (the div) and script, and the JS names map.js needs."""

    header: Markup
    html: Markup
    script: Markup
    map_name: str
    cluster_name: str | None


def fit_bounds(
    points: list[tuple[float, float]], center: tuple[float, float] | None, radius_km: float | None
) -> list[list[float]] | None:
    """South-west and north-east corners around the points; the search circle when there are none."""
    if points:
        lats = [p[0] for p in points] + ([center[0]] if center else [])
        lons = [p[1] for p in points] + ([center[1]] if center else [])
        return [[min(lats), min(lons)], [max(lats), max(lons)]]
    if center is not None and radius_km:
        dlat = radius_km / 111.32
        dlon = radius_km / (111.32 * max(0.01, math.cos(math.radians(center[0]))))
        return [[center[0] - dlat, center[1] - dlon], [center[0] + dlat, center[1] + dlon]]
    return None
