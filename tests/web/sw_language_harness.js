/* Runs static/js/sw.js under Node with an in-memory Cache Storage and a fake server whose pages come in the
 * language of a "cookie" the worker cannot read (tests/web/test_worker_language.py drives it). Prints what
 * each step answered, as JSON. */
"use strict";

const fs = require("fs");

const ORIGIN = "http://directory.test";
const server = { lang: "en", online: true, fetches: [] };

function absolute(url) {
  return new URL(typeof url === "string" ? url : url.url, ORIGIN).href;
}

class BasicResponse extends Response {
  get type() {
    return "basic";
  }
}

// The server: every page in the cookie's language, marked public, and saying its language.
async function fakeFetch(request) {
  const url = new URL(absolute(request));
  server.fetches.push(url.pathname + url.search);
  if (!server.online) throw new TypeError("offline");
  // Each answer is numbered: a page answered from the cache carries the number of the fetch that made it.
  const body = `<html lang="${server.lang}">${url.pathname}${url.search} in ${server.lang} #${server.fetches.length}</html>`;
  return new BasicResponse(body, {
    status: 200,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Language": server.lang,
      Vary: "Cookie, Accept-Language",
      "X-Directory-Public": "1",
      "Cache-Control": "no-cache",
    },
  });
}

class FakeCache {
  constructor() {
    this.entries = new Map();
  }
  async match(request) {
    const hit = this.entries.get(absolute(request));
    return hit ? hit.clone() : undefined;
  }
  async put(request, response) {
    this.entries.set(absolute(request), response.clone());
  }
  async delete(request) {
    return this.entries.delete(absolute(request));
  }
  async keys() {
    return [...this.entries.keys()].map((url) => ({ url }));
  }
  async addAll(urls) {
    for (const url of urls) await this.put(url, await fakeFetch(url));
  }
}

const stores = new Map();
const caches = {
  async open(name) {
    if (!stores.has(name)) stores.set(name, new FakeCache());
    return stores.get(name);
  },
  async match(request) {
    for (const cache of stores.values()) {
      const hit = await cache.match(request);
      if (hit) return hit;
    }
    return undefined;
  },
  async keys() {
    return [...stores.keys()];
  },
  async delete(name) {
    return stores.delete(name);
  },
};

const handlers = {};
const self = {
  SHELL: ["/offline"],
  VERSION: "test",
  location: { origin: ORIGIN },
  registration: { update: async () => undefined },
  clients: { get: async () => null, claim: async () => undefined },
  skipWaiting: async () => undefined,
  addEventListener(type, handler) {
    handlers[type] = handler;
  },
};

new Function("self", "caches", "fetch", fs.readFileSync(process.argv[2], "utf8"))(self, caches, fakeFetch);

// Dispatch an event and wait for everything it started (respondWith and waitUntil), twice over: work
// started by that work (the language's offline page) settles too.
async function dispatch(type, fields) {
  const pending = [];
  let answer;
  const event = Object.assign(
    {
      waitUntil: (promise) => pending.push(promise),
      respondWith: (promise) => {
        answer = promise;
      },
    },
    fields
  );
  handlers[type](event);
  const response = answer ? await answer : undefined;
  await Promise.all(pending);
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  return response;
}

let client = 0;
async function open(path) {
  client += 1;
  const before = server.fetches.length;
  const response = await dispatch("fetch", {
    request: { method: "GET", url: ORIGIN + path, mode: "navigate", referrer: "" },
    clientId: "",
    resultingClientId: `client-${client}`,
  });
  const body = response.type === "error" ? "(browser's own page)" : await response.text();
  return { body, fetched: server.fetches.slice(before) };
}

async function kept(path) {
  const hit = await (await caches.open("pages-v1")).match(ORIGIN + path);
  return hit ? hit.text() : null;
}

(async () => {
  const steps = {};
  await dispatch("install", {});
  steps.first = await open("/search?q=beds");
  steps.again = await open("/search?q=beds");
  // The reader picks Spanish: offline.js tells the worker as the switch posts; the cookie says es.
  await dispatch("message", { data: { type: "language", lang: "es" }, source: { id: "x", postMessage() {} } });
  server.lang = "es";
  steps.afterSwitch = await open("/search?q=beds");
  steps.keptAfterSwitch = await kept("/search?q=beds");
  server.online = false;
  steps.offline = await open("/search?q=beds");
  steps.offlineUnkept = await open("/services/99");
  // Back to English by another tab (the worker was not told): the kept Spanish page answers at once, the
  // page fetched behind it is English, and it replaces it; the next opening is in English.
  server.online = true;
  server.lang = "en";
  steps.otherTab = await open("/search?q=beds");
  steps.keptAfterOtherTab = await kept("/search?q=beds");
  steps.next = await open("/search?q=beds");
  process.stdout.write(JSON.stringify(steps));
})().catch((error) => {
  process.stderr.write(String(error && error.stack));
  process.exit(1);
});
