// The field and office app's service worker: keeps the app shell, the vortex browser client
// and each plugin's static files, so the app opens with no network (docs/admin/offline-data.rst).
//
// The service prepends `const PEEK_APP = {...}` (GET /app-info.json: versions, files and
// cache names; peek_platform/web/offline_app.py), so this script changes whenever a version
// or file does, and the browser installs the new worker on its next online load.
//
// What it serves, and when:
// * Files listed in PEEK_APP (shell, /vortex/js/, plugin static files): from the network
//   while it answers, each good answer refreshing the cached copy; the cached copy when the
//   network fails. They are the same for every user.
// * Pages: from the network. Offline, the shell page (`/`) and plugin pages come from the
//   cache only while a user is signed in on this device (the record /static/peek-app.mjs
//   keeps); otherwise the browser is sent to /login, served from the cache.
// * Nothing else is cached: /api, /health, /device, the vortex link and every non-GET
//   request go to the network as they would without a worker. /bulk/ (chunked index data,
//   kept in IndexedDB by /static/bulk-sync.mjs) is never even looked up in a cache.
// * A logout (POST /logout, answered or not) forgets the signed-in user: the record, the
//   cached shell page (it shows the user's name), the user's stored tuples and bulk data.

/* global PEEK_APP */
"use strict";

const OFFLINE = PEEK_APP.offline;
const PAGES_CACHE = OFFLINE.pagesCache;
const SITE_CACHE_PREFIX = `peek-${PEEK_APP.site}-`;
// Shared with /static/peek-app.mjs and vortex/js/offlineStorage.js.
const SESSION_DB = "peek-app";
const SESSION_STORE = "session";
const SESSION_KEY = "current";
const TUPLES_DB_PREFIX = "vortex-tuples:";
// Shared with /static/bulk-sync.mjs.
const BULK_DB_PREFIX = "peek-bulk:";

/** The cache each listed path belongs in. */
const CACHE_OF_PATH = new Map();
for (const cache of OFFLINE.caches) {
  for (const url of cache.urls) CACHE_OF_PATH.set(url, cache.name);
}

function requestPromise(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withSessionStore(mode, use) {
  const open = indexedDB.open(SESSION_DB, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(SESSION_STORE);
  const db = await requestPromise(open);
  try {
    return await requestPromise(use(db.transaction(SESSION_STORE, mode).objectStore(SESSION_STORE)));
  } finally {
    db.close();
  }
}

/** The signed-in user's record `{user, userId, savedAt}`, or null. */
async function signedInUser() {
  try {
    return (await withSessionStore("readonly", (store) => store.get(SESSION_KEY))) ?? null;
  } catch {
    return null;
  }
}

function deleteDatabase(name) {
  return new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(name);
    // Blocked: an open page has not closed it yet; the deletion goes on once it does.
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/** Forget the signed-in user (logout): record, cached shell page, stored tuples, bulk data. */
async function forgetUser() {
  const user = await signedInUser();
  await withSessionStore("readwrite", (store) => store.delete(SESSION_KEY)).catch(() => undefined);
  await (await caches.open(PAGES_CACHE)).delete("/");
  if (user?.userId) {
    const userPart = encodeURIComponent(String(user.userId));
    await Promise.all([TUPLES_DB_PREFIX, BULK_DB_PREFIX].map((prefix) => deleteDatabase(prefix + userPart)));
  }
}

/** A good, same-origin, unredirected answer: the only kind worth keeping. */
function keepable(response) {
  return response.ok && response.type === "basic" && !response.redirected;
}

/** Milliseconds one file may take to fetch while the worker installs. */
const FILL_TIMEOUT_MS = 15000;

async function fillCache({ name, urls }) {
  const cache = await caches.open(name);
  await Promise.all(
    urls.map(async (url) => {
      // The cache name changes with the files, so a copy under this name is current.
      if (await cache.match(url)) return;
      try {
        // Bounded: one hung request must not keep the new worker from installing.
        const response = await fetch(url, {
          cache: "no-cache",
          credentials: "same-origin",
          signal: AbortSignal.timeout(FILL_TIMEOUT_MS),
        });
        if (keepable(response)) await cache.put(url, response);
      } catch {
        // Not reachable now (offline, or not logged in): kept on a later online visit.
      }
    }),
  );
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      if (OFFLINE.enabled) {
        for (const cache of OFFLINE.caches) await fillCache(cache);
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const keep = new Set(OFFLINE.enabled ? [PAGES_CACHE, ...OFFLINE.caches.map((c) => c.name)] : []);
      for (const name of await caches.keys()) {
        if (name.startsWith(SITE_CACHE_PREFIX) && !keep.has(name)) await caches.delete(name);
      }
      if (!OFFLINE.enabled) {
        await self.registration.unregister();
        return;
      }
      await self.clients.claim();
    })(),
  );
});

function offlinePage(title, text, status = 503) {
  const body = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title}</title>
  <link rel="stylesheet" href="/static/shell.css">
</head>
<body>
  <main id="main" class="offline-page">
    <h1>${title}</h1>
    <p role="status">${text}</p>
    <p><a href="/">Try again</a></p>
  </main>
</body>
</html>`;
  return new Response(body, {
    status,
    headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" },
  });
}

async function cached(cacheName, path) {
  if (cacheName === undefined) return undefined;
  return (await caches.open(cacheName)).match(path, { ignoreSearch: true });
}

/** Keep a copy of `response` under `path`, after the page has its answer. */
function keep(event, cacheName, path, response) {
  const copy = response.clone();
  event.waitUntil(caches.open(cacheName).then((cache) => cache.put(path, copy)));
}

async function networkFirst(event, path, cacheName) {
  try {
    const response = await fetch(event.request);
    if (keepable(response)) keep(event, cacheName, path, response);
    return response;
  } catch {
    return (await cached(cacheName, path)) ?? Response.error();
  }
}

/** The cache a page is kept in: the shell page and the login page in the pages cache,
 * a plugin's index in its plugin cache; undefined for pages that are never kept. */
function pageCache(path) {
  if (path === "/" || path === "/login") return PAGES_CACHE;
  return CACHE_OF_PATH.get(path);
}

async function navigate(event, url) {
  const path = url.pathname;
  let response;
  try {
    response = await fetch(event.request);
  } catch {
    return offlineNavigation(path, url);
  }
  if (path === "/login" && response.ok && !response.redirected) {
    // The login form, not a redirect onwards: nobody is signed in on this browser now.
    await withSessionStore("readwrite", (store) => store.delete(SESSION_KEY)).catch(() => undefined);
    await (await caches.open(PAGES_CACHE)).delete("/");
  }
  const cacheName = pageCache(path);
  if (cacheName !== undefined && keepable(response)) keep(event, cacheName, path, response);
  return response;
}

async function offlineNavigation(path, url) {
  if (path === "/login") {
    return (
      (await cached(PAGES_CACHE, "/login")) ??
      offlinePage("Offline", "Logging in needs the network. This device is offline.")
    );
  }
  if ((await signedInUser()) === null) {
    return Response.redirect(`/login?next=${encodeURIComponent(path + url.search)}`, 303);
  }
  return (
    (await cached(pageCache(path), path)) ??
    offlinePage("Offline", "This device is offline and this page was not kept for offline use.")
  );
}

async function logout(request) {
  try {
    const response = await fetch(request);
    if (response.ok || response.type === "opaqueredirect") await forgetUser();
    return response;
  } catch {
    // Offline: this device forgets the user now; the service ends the session when it
    // expires, or at the next logout made online.
    await forgetUser();
    return Response.redirect("/login", 303);
  }
}

self.addEventListener("fetch", (event) => {
  if (!OFFLINE.enabled) return;
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Bulk data is large and already kept by the page: network only, never a cache copy.
  if (url.pathname.startsWith("/bulk/")) return;
  if (request.method === "POST" && url.pathname === "/logout") {
    event.respondWith(logout(request));
    return;
  }
  if (request.mode === "navigate" && request.method !== "GET") {
    event.respondWith(
      fetch(request).catch(() => offlinePage("Offline", "This needs the network. This device is offline.")),
    );
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event, url));
    return;
  }
  const cacheName = CACHE_OF_PATH.get(url.pathname);
  if (cacheName !== undefined) event.respondWith(networkFirst(event, url.pathname, cacheName));
});
