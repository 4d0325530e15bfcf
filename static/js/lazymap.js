/* The map's scripts come after the list and never before it: on a wide screen right after the page is read,
 * on a phone when the map is scrolled near, "Map" is tapped or "Show on map" is pressed. Leaflet, its
 * styles and map.js load in parallel and run in order; then folium's script (inert text in the page, under
 * the response's nonce) runs, and map.js draws the markers. Without a connection the map is not loaded: a
 * note says so (its tiles and scripts need one). */
(function () {
  "use strict";

  var box = document.getElementById("map");
  var holder = document.getElementById("map-init");
  if (!box || !holder) return;
  var wide = window.matchMedia ? window.matchMedia("(min-width: 760px)").matches : true;
  var state = "idle"; // idle -> loading -> ready
  var waiting = [];

  function whenReady(callback) {
    if (state === "ready") callback();
    else waiting.push(callback);
  }

  function offlineNote() {
    if (box.querySelector(".map-offline")) return;
    var note = document.createElement("p");
    note.className = "map-offline";
    note.textContent = box.dataset.offlineWords || "";  // the page's language (templates/public/_map.html)
    box.appendChild(note);
  }

  function load() {
    if (state !== "idle") return;
    if (navigator.onLine === false || document.documentElement.dataset.offline === "true") {
      offlineNote();
      return;
    }
    state = "loading";
    JSON.parse(box.dataset.mapStyles || "[]").forEach(function (href) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      document.head.appendChild(link);
    });
    var scripts = JSON.parse(box.dataset.mapScripts || "[]");
    var left = scripts.length;
    function loaded() {
      left -= 1;
      if (left > 0) return;
      var run = document.createElement("script");
      run.nonce = holder.nonce; // the page's nonce: the CSP lets this one script run
      run.textContent = holder.textContent;
      document.body.appendChild(run);
      window.DirectoryMap.start();
      state = "ready";
      waiting.splice(0).forEach(function (callback) { callback(); });
    }
    scripts.forEach(function (src) {
      var script = document.createElement("script");
      script.src = src;
      script.async = false; // fetched together, run in this order
      script.onload = loaded;
      script.onerror = function () { state = "idle"; offlineNote(); };
      document.head.appendChild(script);
    });
  }

  window.DirectoryLazyMap = { load: load, whenReady: whenReady };

  if (wide) {
    load();
    return;
  }
  // A phone: the list first; the map when it comes near the screen or is asked for.
  if ("IntersectionObserver" in window) {
    var seen = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) {
        seen.disconnect();
        load();
      }
    }, { rootMargin: "200px 0px" });
    seen.observe(box);
  }
  document.querySelectorAll('a[href="#map"]').forEach(function (link) {
    link.addEventListener("click", load);
  });
  // "Show on map" works before the map is there: it loads it, then does its job (map.js binds it).
  document.querySelectorAll("[data-show-on-map]").forEach(function (button) {
    if (navigator.onLine !== false) button.hidden = false;
    button.addEventListener("click", function first() {
      if (state === "ready") return;
      load();
      whenReady(function () { button.click(); });
    });
  });
})();
