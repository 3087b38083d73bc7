// What a field or office app page uses to work offline: the app's manifest, the signed-in
// user (also when offline), the service worker, and a vortex client, tuple storage, offline
// observer and bulk data sync for one plugin, all per user (docs/plugins/offline-data.rst).
//
//   import { openPluginApp } from "/static/peek-app.mjs";
//   const app = await openPluginApp("peek_plugin_tutorial");
//   app.observer.observe(observableName, selector, (tuples, info) => ..., { additionalFilt });
//   const assets = app.bulkIndex("assets"); // a chunked index kept on the device

import {
  DEFAULT_STORAGE_BUDGET_BYTES,
  IndexedDbQueueStore,
  TupleDataOfflineObserver,
  TupleOfflineStorage,
  TupleOfflineStorageNameService,
  VortexClient,
  defaultQueueStore,
  deleteUserOfflineStorage,
} from "/vortex/js/index.js";
import { ChunkedIndexSync, deleteUserBulkData } from "/static/bulk-sync.mjs";

// Shared with /service-worker.js (assets/app/service-worker.js).
const SESSION_DB = "peek-app";
const SESSION_STORE = "session";
const SESSION_KEY = "current";
/** The user id of devices on a site without logins (kiosks). */
export const ANONYMOUS_USER_ID = "anonymous";
/** How often a plugin page's bulk data syncs while linked (besides at each link-up). */
export const BULK_SYNC_INTERVAL_MS = 5 * 60 * 1000;

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

/** The user last signed in on this browser: `{user, userId, savedAt}`, or null. */
export async function signedInUser() {
  try {
    return (await withSessionStore("readonly", (store) => store.get(SESSION_KEY))) ?? null;
  } catch {
    return null;
  }
}

/**
 * The site's manifest (`/app-info.json`: site, vortexName, versions, offline settings),
 * from the network or, offline, the service worker's copy; null when neither answers.
 */
export async function appInfo() {
  try {
    const response = await fetch("/app-info.json", { cache: "no-cache" });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

/**
 * Register the site's service worker, which keeps the app for offline use (if the browser
 * can: HTTPS or localhost). With the site's `offlineApp` off (`info.offline.enabled`
 * false) a worker already registered is updated instead: the new one deletes its caches
 * and unregisters itself. `info` is the site's manifest (read when not given).
 */
export async function registerServiceWorker(info = undefined) {
  if (!("serviceWorker" in navigator)) return null;
  const manifest = info === undefined ? await appInfo() : info;
  if (manifest?.offline?.enabled === false) {
    const existing = await navigator.serviceWorker.getRegistration("/");
    await existing?.update().catch(() => undefined);
    return null;
  }
  return navigator.serviceWorker.register("/service-worker.js", { scope: "/" }).catch((error) => {
    console.warn("Peek: the app is not kept for offline use:", error);
    return null;
  });
}

function goToLogin() {
  const next = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
  return new Promise(() => {});
}

/**
 * Who uses this page: `{user, userId, online}`. Online it asks the site (`/api/session`)
 * and remembers the user; offline it is the user remembered. Without a login (or offline
 * with nobody remembered) the browser goes to the login page and this never resolves.
 */
export async function appSession() {
  let response;
  try {
    response = await fetch("/api/session", {
      cache: "no-store",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
  } catch {
    const remembered = await signedInUser();
    return remembered === null ? goToLogin() : { ...remembered, online: false };
  }
  if (response.status === 404) return { user: null, userId: ANONYMOUS_USER_ID, online: true };
  if (response.status === 401) {
    await withSessionStore("readwrite", (store) => store.delete(SESSION_KEY)).catch(() => undefined);
    return goToLogin();
  }
  if (!response.ok) throw new Error(`/api/session answered ${response.status}`);
  const { user, userId } = await response.json();
  const record = { user, userId, savedAt: Date.now() };
  await withSessionStore("readwrite", (store) => store.put(record, SESSION_KEY)).catch(() => undefined);
  return { ...record, online: true };
}

/**
 * Forget the signed-in user on this browser (logout): the remembered user, the cached
 * shell page, the user's stored tuples and bulk data. Queued offline actions stay, per
 * user, and go out when that user logs in again.
 */
export async function forgetSignedInUser() {
  const user = await signedInUser();
  await withSessionStore("readwrite", (store) => store.delete(SESSION_KEY)).catch(() => undefined);
  if (globalThis.caches && user !== null) {
    const info = await appInfo();
    if (info !== null) await (await caches.open(info.offline.pagesCache)).delete("/");
  }
  if (user?.userId) {
    await Promise.race([
      Promise.all([
        deleteUserOfflineStorage(user.userId).catch(() => undefined),
        deleteUserBulkData(user.userId).catch(() => undefined),
      ]),
      // A tab that keeps a database open delays its deletion; it completes when it closes.
      new Promise((resolve) => setTimeout(resolve, 2000)),
    ]);
  }
}

/**
 * Everything one plugin's page needs, for the signed-in user: `{info, session, vortex,
 * storage, observer, bulkIndex}`. The vortex client's offline action queue and the tuple
 * storage are the user's own; the client relinks at once when the browser's network comes
 * back. `budgetBytes` overrides the site's storage budget (`offline.storageBudgetBytes`).
 * `bulkIndex(indexName, {intervalMs, ...options})` gives the user's local copy of one of
 * the plugin's chunked indexes (a `ChunkedIndexSync`, /static/bulk-sync.mjs), synced each
 * time the vortex link comes up and every `intervalMs` (default 5 minutes; null: never)
 * while it stays up.
 */
export async function openPluginApp(pluginName, { budgetBytes = null } = {}) {
  const [info, session] = await Promise.all([appInfo(), appSession()]);
  registerServiceWorker(info);
  const vortexName = info?.vortexName ?? "peek-field-app";
  const queueName = `vortex-offline-actions:${vortexName}:${session.userId}`;
  const vortex = new VortexClient({
    vortexName,
    offlineStore: globalThis.indexedDB ? new IndexedDbQueueStore(queueName) : defaultQueueStore(queueName),
  });
  globalThis.addEventListener?.("online", () => vortex.relinkNow());
  const storage = new TupleOfflineStorage(new TupleOfflineStorageNameService(pluginName), {
    userId: session.userId,
    budgetBytes: budgetBytes ?? info?.offline?.storageBudgetBytes ?? DEFAULT_STORAGE_BUDGET_BYTES,
  });
  const observer = new TupleDataOfflineObserver(vortex, storage);
  const bulkIndex = (indexName, { intervalMs = BULK_SYNC_INTERVAL_MS, ...options } = {}) => {
    const index = new ChunkedIndexSync(pluginName, indexName, { ...options, userId: session.userId });
    index.followLink(vortex, { intervalMs });
    return index;
  };
  return { info, session, vortex, storage, observer, bulkIndex };
}
