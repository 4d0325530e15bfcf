"""The folium side of the maps (imported on first use: see mapview.build_map; shared parts in mapbase)."""

from __future__ import annotations

import folium
from flask import current_app
from flask_babel import gettext
from folium.plugins import MarkerCluster
from folium.template import Template
from markupsafe import Markup

from . import context
from .mapbase import OSM_ATTRIBUTION, MapParts, fit_bounds, vendor_url


class PageMap(folium.Map):
    """A folium Map for a page of ours: no full-page styles, no viewport lock, no CDN links, no jQuery."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}{% endmacro %}
        {% macro html(this, kwargs) %}
            <div class="folium-map map-canvas" id={{ this.get_name()|tojson }}></div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }},
                {
                    center: {{ this.location|tojson }}, crs: L.CRS.{{ this.crs }},
                    ...{{ this.options|tojavascript }}
                }
            );
            {%- if this.control_scale %}
            L.control.scale({imperial: false}).addTo({{ this.get_name() }});
            {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.default_js = [("leaflet", vendor_url("leaflet", "leaflet.js"))]
        self.default_css = [("leaflet_css", vendor_url("leaflet", "leaflet.css"))]


def tile_layer(template: str | None):
    """The folium TileLayer for MAP_TILES, or None for `none` (a plain background)."""
    if not template or template.strip().lower() == "none":
        return None
    # OpenStreetMap's credit is its own, as its licence asks; another source's plain credit is in the page's
    # language (maps are drawn per request, never cached across readers).
    attribution = OSM_ATTRIBUTION if "openstreetmap" in template else gettext("Map tiles")
    return folium.TileLayer(tiles=template, attr=attribution, max_zoom=19, name="tiles")


def render_map(
    points: list[tuple[float, float]],
    center: tuple[float, float] | None = None,
    radius_km: float | None = None,
    cluster: bool = True,
) -> MapParts:
    """A folium map fitted to the points (and the search circle), with an empty cluster group for map.js."""
    site_center = context.site().center
    figure = folium.Figure()
    fmap = PageMap(location=list(center or site_center), zoom_start=12, tiles=None, control_scale=True)
    # Without a tile layer Leaflet has no zoom range, and the cluster group needs one.
    fmap.options.update({"minZoom": 3, "maxZoom": 19})
    fmap.add_to(figure)
    layer = tile_layer(current_app.config.get("MAP_TILES"))
    if layer is not None:
        layer.add_to(fmap)
    if center is not None and radius_km:
        folium.Circle(
            list(center), radius=radius_km * 1000, color="#0b5cad", weight=2, fill=False, dash_array="6 6"
        ).add_to(fmap)
        folium.CircleMarker(list(center), radius=6, color="#0b5cad", fill=True, fill_opacity=1).add_to(fmap)
    cluster_name = None
    if cluster:
        group = MarkerCluster(
            icon_create_function="DirectoryMap.clusterIcon",
            # No cluster animations: they cost time with thousands of markers, and a map scrolled out
            # of view (a phone) never finishes them, leaving "show on map" with nothing shown.
            options={"showCoverageOnHover": False, "maxClusterRadius": 60, "animate": False},
        )
        group.default_js = [("markercluster", vendor_url("markercluster", "leaflet.markercluster.js"))]
        group.default_css = [
            ("markercluster_css", vendor_url("markercluster", "MarkerCluster.css")),
        ]
        group.add_to(fmap)
        cluster_name = group.get_name()
    bounds = fit_bounds(points, center, radius_km)
    if bounds is not None:
        fitted = folium.map.FitBounds(bounds, padding=(24, 24), max_zoom=16)
        # Straight to the fitted view: an animated zoom would re-cluster the markers just after they land.
        fitted.options["animate"] = False
        fmap.add_child(fitted)
    figure.render()
    # The figure's own meta tag duplicates the page's charset; only the links are wanted.
    figure.header._children.pop("meta_http", None)
    return MapParts(
        header=_folium_markup(figure.header.render()),
        html=_folium_markup(figure.html.render()),
        script=_folium_markup(figure.script.render()),
        map_name=fmap.get_name(),
        cluster_name=cluster_name,
    )


def _folium_markup(rendered: str) -> Markup:
    """folium's output as markup: it holds only our numbers, URLs and JS names, never untrusted text
    (names and descriptions travel as JSON data, see payload)."""
    return Markup(rendered)  # noqa: S704
