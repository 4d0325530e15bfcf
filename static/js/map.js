/* The result map: draws the markers sent as data (one compact array) as DivIcons by capacity status,
 * builds popups and tooltips from text (never HTML), and links each list item with its marker.
 * folium's inline script creates the map and the cluster group; their names are on #map. */
(function () {
  "use strict";

  var wide = window.matchMedia ? window.matchMedia("(min-width: 900px)") : { matches: true };

  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // Cluster icons: the count, and how many inside have a LEAD-funded or spare unit free (symbol + number),
  // so free capacity shows before zooming in; a ring of status colours as a second cue.
  var clusterStatuses = null;

  function clusterIcon(cluster) {
    var children = cluster.getAllChildMarkers();
    var counts = {};
    for (var i = 0; i < children.length; i++) {
      var code = children[i].options.statusCode;
      counts[code] = (counts[code] || 0) + 1;
    }
    var n = children.length;
    var size = n < 10 ? 44 : n < 100 ? 48 : 56;  // at least 44x44 CSS px: a target for a thumb
    var stops = [];
    var at = 0;
    var title = [];
    (clusterStatuses || []).forEach(function (s) {
      var c = counts[s.code] || 0;
      if (!c) return;
      var end = at + (c / n) * 100;
      stops.push("var(--" + s.code + ") " + at.toFixed(1) + "% " + end.toFixed(1) + "%");
      title.push(c + " " + s.label);
      at = end;
    });
    var free = "";
    if (counts.lead_funded) free += '<span class="free lead">★' + counts.lead_funded + "</span>";
    if (counts.spare_capacity) free += '<span class="free spare">✓' + counts.spare_capacity + "</span>";
    var html =
      '<div class="cluster-pin" data-count="' + n + '" title="' + esc(title.join(", ")) + '"' +
      ' style="background: conic-gradient(' + stops.join(", ") + ')">' +
      '<span class="count">' + n + "</span>" + free + "</div>";
    return L.divIcon({ html: html, className: "cluster-icon", iconSize: L.point(size, size) });
  }

  function makeIcons(statuses) {
    var icons = {};
    statuses.forEach(function (s, index) {
      [0, 1].forEach(function (hollow) {
        icons[index + ":" + hollow] = L.divIcon({
          html:
            '<span class="pin status-' + esc(s.code) + (hollow ? " hollow" : "") + '">' +
            "<b>" + esc(s.symbol) + "</b>" + esc(s.text) + "</span>",
          className: "pin-icon",
          // The pin is drawn 30 px tall at the top of a 44 px target (its point at 38 px).
          iconSize: L.point(58, 44),
          iconAnchor: L.point(29, 38),
          popupAnchor: L.point(0, -36),
          tooltipAnchor: L.point(0, -36),
        });
      });
    });
    return icons;
  }

  function popupContent(data, row) {
    var status = data.statuses[row[3]];
    var box = el("div", "map-popup");
    var title = el("a", "popup-name", row[5]);
    title.href = data.serviceUrl + row[0];
    box.appendChild(el("strong")).appendChild(title);
    box.appendChild(el("p", "popup-org", row[6]));
    var badge = el("span", "badge status status-" + status.code);
    badge.appendChild(el("span", "symbol", status.symbol)).setAttribute("aria-hidden", "true");
    badge.appendChild(document.createTextNode(" " + status.label));
    // The words come with the data (mapview.payload), in the page's language.
    var words = data.words || {};
    if (row[8]) badge.appendChild(el("span", "age", " · " + (words.numbers || "%(age)s").replace("%(age)s", row[8])));
    box.appendChild(el("p", "popup-status")).appendChild(badge);
    var facts = [];
    if (row[7] !== null) facts.push((words.away || "%(km)s km").replace("%(km)s", row[7].toFixed(1)));
    if (row[4] && words.approximate) facts.push(words.approximate);
    if (facts.length) box.appendChild(el("p", "popup-distance", facts.join(" · ")));
    var badges = el("ul", "badges");
    data.badges.forEach(function (label, i) {
      if (row[9] & (1 << i)) badges.appendChild(el("li", "badge attr", label));
    });
    if (badges.childNodes.length) box.appendChild(badges);
    if (data.checkUrl) {
      var check = el("a", "popup-check", words.check || "");
      check.href = data.checkUrl + row[0];
      box.appendChild(check);
    }
    return box;
  }

  function tooltipContent(data, row) {
    var status = data.statuses[row[3]];
    var box = el("span", "map-tooltip");
    box.appendChild(el("strong", null, row[5]));
    box.appendChild(document.createTextNode(" · " + status.symbol + " " + status.label));
    return box;
  }

  function init(box, data) {
    var map = window[box.dataset.mapName];
    var group = box.dataset.clusterName ? window[box.dataset.clusterName] : null;
    var icons = makeIcons(data.statuses);
    var byId = {};
    var markers = data.markers.map(function (row) {
      var status = data.statuses[row[3]];
      var marker = L.marker([row[1], row[2]], {
        icon: icons[row[3] + ":" + row[4]],
        title: row[5] + " (" + status.label + ")",
        riseOnHover: true,
        row: row,
        statusCode: status.code,
      });
      byId[row[0]] = marker;
      return marker;
    });
    var layer = group || L.featureGroup().addTo(map);

    function open(marker) {
      if (!marker.getPopup()) {
        marker.bindPopup(popupContent(data, marker.options.row), { maxWidth: 280, autoPanPadding: [16, 16] });
      }
      map.closePopup();
      marker.openPopup();
    }

    // Bring a marker into view out of its cluster, without animation (nothing to wait for, and a
    // re-cluster at the end of an animation would close the popup just opened), then open it.
    function reveal(marker) {
      var parent = group ? group.getVisibleParent(marker) : marker;
      if (group && parent !== marker) {
        // The marker leaves its cluster one zoom level below that cluster's deepest level.
        var zoom = Math.min(Math.max(map.getZoom(), marker.__parent._zoom + 1), map.getMaxZoom());
        map.setView(marker.getLatLng(), zoom, { animate: false });
        parent = group.getVisibleParent(marker);
      } else if (!map.getBounds().contains(marker.getLatLng())) {
        map.setView(marker.getLatLng(), map.getZoom(), { animate: false });
      }
      if (marker.getElement() || !parent) {
        open(marker);
      } else {
        // Still together at the deepest zoom (the same address): fan the cluster out.
        group.once("spiderfied", function () { open(marker); });
        parent.spiderfy();
      }
    }

    layer.on("click", function (e) {
      if (!e.layer.getPopup()) open(e.layer);
    });
    layer.on("mouseover", function (e) {
      if (e.layer.options.row && !e.layer.getTooltip()) {
        e.layer.bindTooltip(tooltipContent(data, e.layer.options.row), { direction: "top" }).openTooltip();
      }
    });

    // Marker -> list: the item of the open popup is highlighted (and scrolled to beside a wide map).
    map.on("popupopen", function (e) {
      var row = e.popup._source && e.popup._source.options.row;
      var item = row && document.getElementById("result-" + row[0]);
      if (!item) return;
      item.classList.add("is-selected");
      if (wide.matches) item.scrollIntoView({ block: "nearest" });
    });
    map.on("popupclose", function (e) {
      var row = e.popup._source && e.popup._source.options.row;
      var item = row && document.getElementById("result-" + row[0]);
      if (item) item.classList.remove("is-selected");
    });

    // List -> marker: "Show on map" zooms to the marker (out of its cluster) and opens its popup.
    document.querySelectorAll("[data-show-on-map]").forEach(function (button) {
      var marker = byId[button.getAttribute("data-show-on-map")];
      if (!marker) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var rect = box.getBoundingClientRect();
        if (rect.top < 0 || rect.bottom > window.innerHeight) box.scrollIntoView({ block: "start" });
        reveal(marker);
      });
      var item = button.closest(".result");
      item.addEventListener("mouseenter", function () {
        var icon = marker.getElement();
        if (icon) icon.classList.add("is-active");
      });
      item.addEventListener("mouseleave", function () {
        var icon = marker.getElement();
        if (icon) icon.classList.remove("is-active");
      });
    });

    // Keyboard: markers and clusters are focusable buttons (Leaflet gives them tabindex and role). Enter and
    // Space open a marker's popup or zoom into a cluster (fan it out at the deepest zoom); Escape closes the
    // popup and gives focus back to its marker.
    function layerOf(element) {
      var found = null;
      var visible = group ? group._featureGroup : layer;
      visible.eachLayer(function (candidate) {
        if (!found && candidate.getElement && candidate.getElement() === element) found = candidate;
      });
      return found;
    }
    var lastOpened = null;
    map.getContainer().addEventListener("keydown", function (e) {
      var key = e.key;
      if (key === "Escape" || key === "Esc") {
        if (map._popup && map.hasLayer(map._popup)) {
          e.preventDefault();
          map.closePopup();
          var back = lastOpened && lastOpened.getElement();
          if (back) back.focus();
        }
        return;
      }
      if (key !== "Enter" && key !== " " && key !== "Spacebar") return;
      var target = e.target.closest ? e.target.closest(".pin-icon, .cluster-icon") : null;
      if (!target) return;
      var hit = layerOf(target);
      if (!hit) return;
      e.preventDefault();  // no keypress "click" from Leaflet too, and Space does not scroll the page
      if (hit.getAllChildMarkers) {
        var before = map.getZoom();
        if (before >= map.getMaxZoom() || hit._zoom >= map.getMaxZoom()) {
          hit.spiderfy();
        } else {
          hit.zoomToBounds({ padding: [20, 20] });
        }
        map.once("zoomend moveend", function () {
          box.dataset.keyboardZoom = String(map.getZoom());
        });
      } else {
        lastOpened = hit;
        open(hit);
        var link = map._popup && map._popup.getElement && map._popup.getElement().querySelector("a.popup-name");
        if (link) link.focus({ preventScroll: true });
      }
    });

    function ready() {
      box.dataset.markerCount = String(markers.length);
      box.dataset.ready = "true";
    }
    if (group) {
      // One synchronous bulk add (a few thousand markers take tens of milliseconds).
      group.addLayers(markers);
      ready();
    } else {
      markers.forEach(function (m) { m.addTo(layer); });
      ready();
    }
    window.DirectoryMap.map = map;
    window.DirectoryMap.markers = byId;
  }

  var started = false;

  // Draw the markers once folium's script has made the map (called by lazymap.js, or at DOMContentLoaded
  // where the page loads this file the classic way, as the printed slip does).
  function start() {
    var box = document.getElementById("map");
    if (started || !box || !window.L) return;
    started = true;
    var data = JSON.parse(box.dataset.markers);
    clusterStatuses = data.statuses;
    init(box, data);
  }

  // folium's script (after this file) names DirectoryMap.clusterIcon as the cluster group's icon maker.
  window.DirectoryMap = { clusterIcon: clusterIcon, start: start };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
})();
