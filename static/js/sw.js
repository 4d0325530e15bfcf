/* The service worker (served at /sw.js by directory/web/assets.py, which writes self.SHELL and
 * self.VERSION above this line). It keeps:
 * - the app shell (the offline page, our scripts, the manifest and icons) and every fingerprinted file it
 *   sees (their URLs change with their content);
 * - the last 10 searches and the public service pages opened from them, each with the time it was
 *   fetched (X-Fetched-At), and only responses the app marked public (X-Directory-Public: 1) for a browser
 *   that is not signed in. Staff pages and participant data are never kept: they are never marked public,
 *   every signed-in answer carries X-Signed-In and no-store, and while signed in nothing is stored.
 * A kept page is answered at once and fetched again behind it (stale-while-revalidate): the page then
 * refreshes in place (static/js/offline.js). Only GETs are handled: a write goes to the network or fails,
 * and is never queued.
 * Pages come in the reader's language (a cookie the worker cannot read): every page says its language
 * (Content-Language), the worker remembers the reader's (from the pages the server sends, and from the
 * language switch, which offline.js reports before it posts), and a kept page in another language is not
 * answered while there is a connection: the page is fetched, and kept in place of the old one. The
 * offline page is fetched again in the new language. */
"use strict";

var SHELL_CACHE = "shell-" + self.VERSION;
var ASSETS = "assets-" + self.VERSION;
var PAGES = "pages-v1";
var STATE = "state-v1";
var STATE_KEY = "/__sw-state";
var MAX_SEARCHES = 10;
var FINGERPRINTED = /\.[0-9a-f]{10}\.[A-Za-z0-9]+$/;
var SERVICE_PAGE = /^\/services\/\d+$/;

var served = {}; // client id -> what its page was answered with, and the refresh behind it
var chain = Promise.resolve(); // state changes one at a time

function serial(work) {
  chain = chain.then(work, work);
  return chain;
}

var remembered = null; // the state as last read or written (the worker keeps it while it runs)

function readState() {
  if (remembered) return Promise.resolve(remembered);
  return caches
    .open(STATE)
    .then(function (cache) { return cache.match(STATE_KEY); })
    .then(function (response) { return response ? response.json() : null; })
    .then(function (state) {
      remembered = remembered || state || { signedIn: false, searches: [], lang: null };
      return remembered;
    });
}

function writeState(state) {
  remembered = state;
  return caches.open(STATE).then(function (cache) {
    return cache.put(STATE_KEY, new Response(JSON.stringify(state), { headers: { "Content-Type": "application/json" } }));
  });
}

function setSignedIn(value) {
  return serial(function () {
    return readState().then(function (state) {
      if (state.signedIn === value) return null;
      state.signedIn = value;
      return writeState(state);
    });
  });
}

// The reader's language changed: remember it, and keep the offline page in it.
function setLanguage(lang) {
  if (!lang) return Promise.resolve();
  if (remembered) remembered.lang = lang; // at once: the page asked next must see it
  return serial(function () {
    return readState().then(function (state) {
      if (state.lang === lang && state.offlineLang === lang) return null;
      state.lang = lang;
      return fetch("/offline", { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok || response.headers.get("Content-Language") !== lang) return null;
          state.offlineLang = lang;
          return caches.open(SHELL_CACHE).then(function (cache) { return cache.put("/offline", response); });
        })
        .catch(function () { return null; })
        .then(function () { return writeState(state); });
    });
  });
}

function languageOf(response) {
  return (response && response.headers.get("Content-Language")) || null;
}

// What the server says about the viewer: a signed-in answer, or a page marked public (anonymous); and the
// language the pages are read in.
function observe(response) {
  if (!response) return;
  if (response.headers.get("X-Signed-In") === "1") setSignedIn(true);
  else if (response.headers.get("X-Directory-Public") === "1") setSignedIn(false);
  if (response.ok && (response.headers.get("Content-Type") || "").indexOf("text/html") === 0) {
    var lang = languageOf(response);
    if (lang && (!remembered || remembered.lang !== lang || remembered.offlineLang !== lang)) setLanguage(lang);
  }
}

function isPublic(response) {
  if (!response || !response.ok || response.type !== "basic" || response.redirected) return false;
  var control = (response.headers.get("Cache-Control") || "").toLowerCase();
  return (
    response.headers.get("X-Directory-Public") === "1" &&
    response.headers.get("X-Signed-In") !== "1" &&
    control.indexOf("no-store") < 0 &&
    control.indexOf("private") < 0
  );
}

function isSearch(url) {
  return url.pathname === "/search" && url.search.length > 1;
}

// A kept search's name on the offline page: the words searched (the page puts its own words around
// them, in the reader's language: offline.js).
function title(url) {
  var parts = [];
  url.searchParams.forEach(function (value, key) {
    if (value && key !== "page" && key !== "near") parts.push(value);
  });
  return parts.join(" · ");
}

// Keep a public page with its fetch time; searches: the last 10; service pages: only those opened from a
// kept search, dropped with the last search that opened them.
function store(url, response, referrer) {
  return serial(function () {
    return readState().then(function (state) {
      if (state.signedIn) return null;
      var now = Date.now();
      var search = null;
      if (isSearch(url)) {
        state.searches = state.searches.filter(function (s) {
          if (s.url === url.href) search = s;
          return s.url !== url.href;
        });
        search = search || { url: url.href, services: [] };
        search.fetchedAt = now;
        search.title = title(url);
        search.near = url.searchParams.get("near") || "";
        state.searches.unshift(search);
      } else {
        var from = state.searches.filter(function (s) {
          return s.url === referrer || s.services.indexOf(url.href) >= 0;
        });
        if (!from.length) return null;
        from.forEach(function (s) {
          if (s.services.indexOf(url.href) < 0) s.services.push(url.href);
        });
      }
      var dropped = state.searches.slice(MAX_SEARCHES);
      state.searches = state.searches.slice(0, MAX_SEARCHES);
      var kept = {};
      state.searches.forEach(function (s) {
        kept[s.url] = true;
        s.services.forEach(function (u) { kept[u] = true; });
      });
      return response.blob().then(function (body) {
        var headers = new Headers(response.headers);
        headers.set("X-Fetched-At", String(now));
        return caches.open(PAGES).then(function (cache) {
          var gone = [];
          dropped.forEach(function (s) {
            [s.url].concat(s.services).forEach(function (u) { if (!kept[u]) gone.push(cache.delete(u)); });
          });
          gone.push(cache.put(url.href, new Response(body, { status: response.status, statusText: response.statusText, headers: headers })));
          return Promise.all(gone).then(function () { return writeState(state); });
        });
      });
    });
  });
}

function tell(clientId, message) {
  var record = served[clientId];
  if (record) record.outcome = message;
  if (!record || !record.greeted) return Promise.resolve();
  return self.clients.get(clientId).then(function (client) {
    if (client) client.postMessage(message);
  });
}

// The offline page (kept at install, and again in each new language). Without it the browser's own
// "no connection" page, in the browser's language: the worker has no words of its own.
function offlinePage() {
  return caches.match("/offline").then(function (page) {
    return page || Response.error();
  });
}

function revalidate(request, url, clientId, cachedLanguage) {
  return fetch(request)
    .then(function (response) {
      observe(response);
      if (!isPublic(response)) return tell(clientId, { type: "viewer-changed", url: url.href });
      var copy = response.clone();
      // Answered from the cache in another language than the reader's now: reload into the new one.
      var changed = Boolean(cachedLanguage) && languageOf(response) !== cachedLanguage;
      return store(url, response, null).then(function () {
        if (changed) return tell(clientId, { type: "viewer-changed", url: url.href });
        return copy.text().then(function (html) {
          return tell(clientId, { type: "refreshed", url: url.href, html: html, fetchedAt: Date.now() });
        });
      });
    })
    .catch(function () {
      return tell(clientId, { type: "refresh-failed", url: url.href });
    });
}

var checkedAt = Date.now(); // when this worker last looked for a new version of itself (or started)

function page(event, url) {
  var request = event.request;
  if (Date.now() - checkedAt > 3600 * 1000) {
    checkedAt = Date.now();
    self.registration.update().catch(function () {});
  }
  var clientId = event.resultingClientId || event.clientId;
  return Promise.all([readState(), caches.open(PAGES).then(function (c) { return c.match(url.href, { ignoreVary: true }); })]).then(
    function (found) {
      var state = found[0];
      var cached = found[1];
      var fetchedAt = cached ? Number(cached.headers.get("X-Fetched-At")) : null;
      var kept = languageOf(cached);
      // A kept page in another language than the reader's is answered only without a connection.
      var sameLanguage = !state.lang || !kept || kept === state.lang;
      if (cached && !state.signedIn && sameLanguage) {
        var record = { url: url.href, fromCache: true, fetchedAt: fetchedAt, greeted: false, outcome: null };
        served[clientId] = record;
        event.waitUntil(revalidate(request, url, clientId, kept));
        return cached;
      }
      return fetch(request)
        .then(function (response) {
          observe(response);
          if (!state.signedIn && isPublic(response)) {
            event.waitUntil(store(url, response.clone(), request.referrer));
          }
          return response;
        })
        .catch(function () {
          if (!cached) return offlinePage();
          served[clientId] = { url: url.href, fromCache: true, fetchedAt: fetchedAt, greeted: false, outcome: { type: "refresh-failed", url: url.href } };
          return cached;
        });
    }
  );
}

function asset(request) {
  return caches.match(request, { ignoreVary: true }).then(function (hit) {
    if (hit) return hit;
    return fetch(request).then(function (response) {
      if (response.ok && response.type === "basic" && FINGERPRINTED.test(new URL(request.url).pathname)) {
        var copy = response.clone();
        caches.open(ASSETS).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL_CACHE).then(function (cache) { return cache.addAll(self.SHELL); }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(
        names
          .filter(function (name) { return /^(shell|assets)-/.test(name) && name !== SHELL_CACHE && name !== ASSETS; })
          .map(function (name) { return caches.delete(name); })
      );
    }).then(function () { return self.clients.claim(); })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return; // writes go to the network, or fail: never queued
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname === "/sw.js") return;
  if (self.SHELL.indexOf(url.pathname + url.search) >= 0 || FINGERPRINTED.test(url.pathname)) {
    event.respondWith(asset(request));
  } else if (isSearch(url) || SERVICE_PAGE.test(url.pathname)) {
    event.respondWith(page(event, url));
  } else if (request.mode === "navigate") {
    event.respondWith(
      fetch(request)
        .then(function (response) { observe(response); return response; })
        .catch(offlinePage)
    );
  }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  var source = event.source;
  if (data.type === "hello") {
    event.waitUntil(
      setSignedIn(Boolean(data.signedIn)).then(function () {
        var record = served[source.id];
        if (!record || record.url !== data.url) {
          source.postMessage({ type: "page", url: data.url, fromCache: false });
          return;
        }
        record.greeted = true;
        source.postMessage({ type: "page", url: record.url, fromCache: true, fetchedAt: record.fetchedAt, refreshing: !record.outcome || record.outcome.type === "refreshed" || record.outcome.type === "viewer-changed" });
        if (record.outcome) source.postMessage(record.outcome);
      })
    );
  } else if (data.type === "language") {
    // The reader chose a language (offline.js, before the switch posts): the next page must be in it.
    event.waitUntil(setLanguage(String(data.lang || "")));
  } else if (data.type === "saved") {
    event.waitUntil(
      readState().then(function (state) {
        source.postMessage({
          type: "saved",
          searches: state.searches.map(function (s) { return { url: s.url, title: s.title, near: s.near, fetchedAt: s.fetchedAt }; }),
        });
      })
    );
  }
});
