/* Readable offline, and honest about it. Registers the service worker (static/js/sw.js, served at /sw.js),
 * tells it whether this browser is signed in (then it keeps nothing), and on a page it answered from its
 * cache shows a banner with the page's age, the age of every number, and "Call — numbers from 14 h ago"
 * with the phone number wherever numbers are past their freshness window (never "Free"). Online, a kept
 * page is shown at once and refreshed in place when the worker has the new one. Writes never pretend:
 * without a connection a form that sends (hold, referral, update) or a "Refer" link says it needs a
 * connection and offers the provider's phone; nothing is queued. */
(function () {
  "use strict";

  var root = document.documentElement;
  var signedIn = root.dataset.signedIn === "1";
  var here = location.href.split("#")[0];
  var savedAt = null; // when the page shown was fetched (ms), when it came from the worker's cache
  // Every word shown comes from the page, in its language (templates/_offline_words.html).
  var words = {};
  try {
    words = JSON.parse((document.getElementById("offline-words") || {}).textContent || "{}");
  } catch (e) {
    words = {};
  }

  function say(key, params) {
    var text = words[key] || "";
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("%(" + name + ")s").join(String(params[name]));
    });
    return text;
  }

  function ageWords(ms) {
    var seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 90) return say("just_now");
    var minutes = Math.floor(seconds / 60);
    if (minutes < 90) return say("min_ago", { num: minutes });
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return say("h_ago", { num: hours });
    return say("days_ago", { num: Math.floor(hours / 24) });
  }

  // The number a call link shows, whatever the words before it ("Call 206-555-0100", "Llame al ...").
  function numberOf(link) {
    return link.textContent.replace(/^[^+(\d]+/, "");
  }

  function isOffline() {
    return navigator.onLine === false || root.dataset.offline === "true";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function telLink(scope) {
    var named = scope && scope.closest && scope.closest("[data-provider-phone]");
    if (named) {
      var made = el("a", null, named.dataset.providerPhoneText);
      made.setAttribute("href", named.dataset.providerPhone);
      return made;
    }
    // Only the phone of the service the write is about: never another result's.
    var place = scope && scope.closest && scope.closest(".result, article.service");
    return place ? place.querySelector('a[href^="tel:"]') : null;
  }

  function banner(text) {
    var main = document.getElementById("main") || document.body;
    var box = document.getElementById("offline-banner");
    if (!box) {
      box = el("div", "offline-banner");
      box.id = "offline-banner";
      box.setAttribute("role", "status");
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = text;
    return box;
  }

  // Every number with its age now; past the window: "Call — numbers from 14 h ago" and the phone.
  function ageNumbers(now) {
    document.querySelectorAll("[data-confirmed-at]").forEach(function (node) {
      var confirmed = Date.parse(node.dataset.confirmedAt);
      var until = Date.parse(node.dataset.freshUntil);
      if (isNaN(confirmed)) return;
      var age = say("numbers_from", { age: ageWords(now - confirmed) });
      var badge = node.querySelector(".badge.status");
      var words = node.querySelector(".status-words");
      if (now > until || node.dataset.status === "unverified") {
        node.classList.add("numbers-stale");
        if (badge) {
          badge.className = "badge status status-unverified";
          badge.dataset.status = "unverified";
          badge.textContent = "";
          badge.appendChild(el("span", "symbol", "?")).setAttribute("aria-hidden", "true");
          badge.appendChild(el("span", "status-words", " " + say("call_age", { age: age })));
        }
        var counts = node.querySelector(".numbers");
        if (counts) counts.hidden = true;
        var phone = telLink(node);
        if (phone && badge && !node.querySelector(".stale-call")) {
          var call = el("a", "stale-call", say("call", { number: numberOf(phone) }));
          call.href = phone.getAttribute("href");
          badge.insertAdjacentElement("afterend", call);
        }
      } else if (words) {
        words.textContent = words.textContent.replace(/, [^,]*$/, "") + ", " + age;
      } else if (badge) {
        var ageSpan = badge.querySelector(".age");
        if (ageSpan) ageSpan.textContent = " · " + age;
      }
    });
  }

  function showSaved(fetchedAt, offline) {
    savedAt = fetchedAt;
    var now = Date.now();
    var when = new Date(fetchedAt).toLocaleString(root.lang || [], { weekday: "short", hour: "numeric", minute: "2-digit" });
    if (offline) {
      root.dataset.offline = "true";
      banner(say("offline_saved", { age: ageWords(now - fetchedAt), when: when }));
    } else {
      banner(say("saved_updating", { age: ageWords(now - fetchedAt), when: when }));
    }
    ageNumbers(now);
  }

  // The fresh page from the worker: statuses replaced item by item (buttons and the map stay), the whole
  // list when the results changed.
  function refreshInPlace(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var swap = function (selector) {
      var old = document.querySelector(selector);
      var neu = fresh.querySelector(selector);
      if (old && neu) old.replaceWith(document.importNode(neu, true));
    };
    var oldIds = Array.prototype.map.call(document.querySelectorAll(".result"), function (n) { return n.id; });
    var newIds = Array.prototype.map.call(fresh.querySelectorAll(".result"), function (n) { return n.id; });
    if (oldIds.join() === newIds.join()) {
      newIds.forEach(function (id) {
        var neu = fresh.getElementById(id);
        var old = document.getElementById(id);
        ["data-status", "data-confirmed-at", "data-fresh-until"].forEach(function (name) {
          if (neu.hasAttribute(name)) old.setAttribute(name, neu.getAttribute(name));
          else old.removeAttribute(name);
        });
        old.classList.remove("numbers-stale");
        var stale = old.querySelector(".stale-call");
        if (stale) stale.remove();
        var line = old.querySelector(".status-line");
        var newLine = neu.querySelector(".status-line");
        if (line && newLine) line.replaceWith(document.importNode(newLine, true));
      });
    } else {
      swap(".list-pane");
    }
    swap(".results-count");
    var article = document.querySelector("article.service");
    var freshArticle = fresh.querySelector("article.service");
    if (article && freshArticle) {
      ["data-status", "data-confirmed-at", "data-fresh-until"].forEach(function (name) {
        if (freshArticle.hasAttribute(name)) article.setAttribute(name, freshArticle.getAttribute(name));
        else article.removeAttribute(name);
      });
      swap("article.service > .badge.status");
      swap("article.service > .numbers");
      var staleCall = article.querySelector(".stale-call");
      if (staleCall) staleCall.remove();
    }
    var box = document.getElementById("map");
    var freshBox = fresh.getElementById("map");
    if (box && freshBox && !box.dataset.ready) box.dataset.markers = freshBox.dataset.markers;
    root.dataset.offline = "";
    root.dataset.refreshed = "true";
    savedAt = null;
    var shown = document.getElementById("offline-banner");
    if (shown) shown.remove();
  }

  function needsConnection(target) {
    var scope = target.closest(".result, article.service, form, main") || document.body;
    var old = scope.querySelector(".needs-connection");
    if (old) old.remove();
    var note = el("p", "needs-connection");
    note.setAttribute("role", "alert");
    note.appendChild(el("strong", null, say("needs_connection")));
    note.appendChild(document.createTextNode(" " + say("nothing_sent")));
    var phone = telLink(target);
    if (phone) {
      note.appendChild(document.createTextNode(" " + say("call_provider") + " "));
      var call = el("a", "call-provider", numberOf(phone));
      call.href = phone.getAttribute("href");
      note.appendChild(call);
    }
    if (target.tagName === "FORM") target.insertAdjacentElement("afterend", note);
    else target.insertAdjacentElement("afterend", note);
  }

  // Writes: a form that sends, or a link into the referral check, never pretends without a connection.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if ((form.getAttribute("method") || "get").toLowerCase() !== "post" || !isOffline()) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      needsConnection(form);
    },
    true
  );
  document.addEventListener(
    "click",
    function (event) {
      var link = event.target.closest && event.target.closest('a.refer-link, a.popup-check, a[data-refer]');
      if (!link || !isOffline()) return;
      event.preventDefault();
      needsConnection(link);
    },
    true
  );

  window.addEventListener("offline", function () {
    root.dataset.offline = "true";
    if (document.querySelector("[data-confirmed-at]")) {
      var rendered = Date.parse(root.dataset.renderedAt);
      showSaved(savedAt || (isNaN(rendered) ? Date.now() : rendered), true);
    } else {
      banner(say("offline_short"));
    }
  });
  window.addEventListener("online", function () {
    if (root.dataset.offline === "true" && savedAt === null) {
      root.dataset.offline = "";
      var shown = document.getElementById("offline-banner");
      if (shown) shown.remove();
    }
  });

  function savedList(searches) {
    var list = document.getElementById("saved-searches");
    if (!list) return;
    list.textContent = "";
    searches.forEach(function (item) {
      var li = el("li");
      var name = [item.title, item.near ? say("near_place", { place: item.near }) : ""].filter(Boolean).join(" · ");
      var link = el("a", null, name || say("all_services"));
      link.href = item.url;
      li.appendChild(link);
      li.appendChild(document.createTextNode(" · " + say("saved_item", { age: ageWords(Date.now() - item.fetchedAt) })));
      list.appendChild(li);
    });
    var none = document.getElementById("no-saved-searches");
    if (none) none.hidden = searches.length > 0;
  }

  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.addEventListener("message", function (event) {
    var data = event.data || {};
    if (data.url && data.url !== here && data.type !== "saved") return;
    if (data.type === "page" && data.fromCache) showSaved(data.fetchedAt, !data.refreshing || isOffline());
    else if (data.type === "refresh-failed" && savedAt !== null) showSaved(savedAt, true);
    else if (data.type === "refreshed") refreshInPlace(data.html);
    else if (data.type === "viewer-changed") location.reload();
    else if (data.type === "saved") savedList(data.searches || []);
  });
  var controller = navigator.serviceWorker.controller;
  // The language switch: the worker learns the new language before the page comes back in it, so that it
  // does not answer with a page it kept in the old one (sw.js).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var chosen = form.classList && form.classList.contains("language-switch") && form.querySelector("[name=lang]");
    if (chosen && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "language", lang: chosen.value });
    }
  });
  if (controller) {
    controller.postMessage({ type: "hello", url: here, signedIn: signedIn });
    if (document.getElementById("saved-searches")) controller.postMessage({ type: "saved" });
  }
  // After the page's own requests: the worker's first fetches never compete with the list. Once it
  // controls the page, the worker checks itself for a new version (at most hourly, sw.js): a register
  // call on every page would be a request each time on a weak signal. Nothing is written to storage here.
  function register() {
    if (navigator.serviceWorker.controller) return;
    navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" }).catch(function () {});
  }
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register);
})();
