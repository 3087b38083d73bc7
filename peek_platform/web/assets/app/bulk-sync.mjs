// Bulk data sync on a device: a local copy of a plugin's chunked index, kept in IndexedDB
// per user, brought up to date by downloading only the chunks whose hash changed
// (docs/plugins/offline-data.rst, "Bulk data on the device").
//
//   import { openPluginApp } from "/static/peek-app.mjs";
//   const app = await openPluginApp("peek_plugin_tutorial");
//   const assets = app.bulkIndex("assets");      // syncs whenever the link comes up
//   assets.onProgress((state) => show(state));   // {status, done, total, rows, ...}
//   const asset = await assets.get("A-1001");    // from the local copy, also offline
//
// The field and office services serve each index over HTTP, behind the app's login:
//   GET /bulk/<plugin>/<index>/hashes              -> {"chunks": {"<bucket>": "<hash>"}}
//   GET /bulk/<plugin>/<index>/chunk/<bucket>?hash= -> {"bucket", "hash", "rows": {key: row}}
// A chunk answers 404 when its bucket is gone and 409 when its hash changed since the
// hashes were read; both mean "read the hashes again".
//
// Each user has one database, `peek-bulk:<userId>`, deleted at logout (peek-app.mjs and
// the service worker). Its stores hold every index of every plugin, each under the key
// prefix [plugin, index]: `chunks` the hash index (one record per bucket), `rows` the rows
// keyed [plugin, index, bucket, key] with the index `byKey` on [plugin, index, key] (a
// device cannot compute a plugin's key -> bucket function, so it looks keys up there), and
// `indexes` when each index was last fully synced. A chunk's rows and its hash are written
// in one transaction, so an interrupted sync keeps every chunk it finished and the next
// sync downloads only the rest.

/** The statuses of a sync: "syncing" while it runs, one of the others when it ends. */
export const SYNC_STATUSES = Object.freeze([
  "idle",
  "syncing",
  "synced",
  "offline",
  "not-published",
  "login-required",
  "forbidden",
  "storage-full",
  "signed-out",
  "error",
]);

/** How many chunks download at once. */
export const DEFAULT_CONCURRENCY = 4;
/** How often one sync reads the hashes again after chunks changed under it (409/404). */
export const DEFAULT_MAX_ROUNDS = 5;
/** Milliseconds one request may take before the sync counts the network as gone. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** The state before any sync (`info()` tells what the kept copy holds). */
const IDLE_STATE = Object.freeze({
  status: "idle",
  reason: "",
  done: 0,
  total: 0,
  downloaded: 0,
  deleted: 0,
  bytes: 0,
  rows: 0,
  lastSyncedAt: null,
});

const DATABASE_PREFIX = "peek-bulk:";
const DATABASE_VERSION = 1;
const INDEXES = "indexes";
const CHUNKS = "chunks";
const ROWS = "rows";
const BY_KEY = "byKey";

/** The IndexedDB database holding `userId`'s bulk data. */
export function bulkDatabaseName(userId) {
  if (userId === null || userId === undefined || String(userId) === "") {
    throw new TypeError("bulk data sync needs the id of the logged-in user");
  }
  return DATABASE_PREFIX + encodeURIComponent(String(userId));
}

/** Delete `userId`'s bulk data (at logout); resolves once it is gone. */
export function deleteUserBulkData(userId, indexedDB = globalThis.indexedDB) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(bulkDatabaseName(userId));
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** The chunks to download and the buckets to delete, to turn `local` into `remote`
 * (both Maps of bucket -> hash). Downloads are in bucket order. */
export function syncPlan(local, remote) {
  const download = [...remote.keys()]
    .filter((bucket) => local.get(bucket) !== remote.get(bucket))
    .sort();
  const remove = [...local.keys()].filter((bucket) => !remote.has(bucket)).sort();
  return { download, remove };
}

/** Ends a sync early with one of SYNC_STATUSES and a reason a page can show. */
class SyncStop extends Error {
  constructor(status, reason) {
    super(reason);
    this.status = status;
  }
}

/** A chunk changed or vanished after the hashes were read: read them again. */
const STALE = Symbol("stale");

function requestPromise(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function transactionDone(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onabort = () => reject(transaction.error ?? new Error("transaction aborted"));
    transaction.onerror = (event) => reject(event.target.error ?? transaction.error);
  });
}

function isQuotaError(error) {
  return error?.name === "QuotaExceededError" || error?.code === 22;
}

/**
 * The local copy of one chunked index of one plugin, for one user.
 *
 * Options: `userId` (required), `concurrency` (chunks downloaded at once, default 4),
 * `maxRounds`, `requestTimeoutMs`; `fetch`, `indexedDB`, `IDBKeyRange`, `navigator` and
 * `now` replace the browser's in tests.
 *
 * `sync()` never rejects: it resolves with the final state, whose `status` says how it
 * ended. Listeners added with `onProgress` see every state of every sync.
 */
export class ChunkedIndexSync {
  constructor(
    pluginName,
    indexName,
    {
      userId,
      concurrency = DEFAULT_CONCURRENCY,
      maxRounds = DEFAULT_MAX_ROUNDS,
      requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
      fetch = (...args) => globalThis.fetch(...args),
      indexedDB = globalThis.indexedDB,
      IDBKeyRange = globalThis.IDBKeyRange,
      navigator = globalThis.navigator,
      now = () => Date.now(),
    } = {},
  ) {
    for (const [what, name] of [["plugin", pluginName], ["index", indexName]]) {
      if (typeof name !== "string" || name === "") {
        throw new TypeError(`bulk data sync needs a ${what} name`);
      }
    }
    if (!(Number.isInteger(concurrency) && concurrency > 0)) {
      throw new RangeError(`concurrency must be a positive integer, not ${concurrency}`);
    }
    this.pluginName = pluginName;
    this.indexName = indexName;
    this.databaseName = bulkDatabaseName(userId);
    this.concurrency = concurrency;
    this.maxRounds = maxRounds;
    this.requestTimeoutMs = requestTimeoutMs;
    this._fetch = fetch;
    this._indexedDB = indexedDB;
    this._keyRange = IDBKeyRange;
    this._navigator = navigator;
    this._now = now;
    this._db = null;
    this._deleted = false;
    this._listeners = new Set();
    this._running = null;
    this._queued = null;
    this._state = { ...IDLE_STATE };
  }

  /** The last state a sync reported (`status` "idle" before the first). */
  get state() {
    return { ...this._state };
  }

  /** False once the user's database was deleted (logout) while this copy was open. */
  get usable() {
    return !this._deleted;
  }

  /** Call `listener(state)` on every state of every sync; returns a function that stops. */
  onProgress(listener) {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /**
   * Sync whenever `vortex` (a VortexClient) links up: at once if it is linked, and each
   * time the link comes back; with `intervalMs`, also every `intervalMs` while it stays
   * linked (one small request when nothing changed). A sync started while offline would
   * only fail; the link coming up is the sign that the service can be reached and the
   * login is valid. `timers` ({setInterval, clearInterval}) replaces the browser's in
   * tests. Returns a function that stops following.
   */
  followLink(vortex, { intervalMs = null, timers = globalThis } = {}) {
    let online = false;
    let timer = null;
    const stopTimer = () => {
      if (timer !== null) timers.clearInterval(timer);
      timer = null;
    };
    const stopListening = vortex.onStatus((status) => {
      if (status.online && !online) {
        this.sync();
        if (intervalMs !== null) timer = timers.setInterval(() => this.sync(), intervalMs);
      }
      if (!status.online) stopTimer();
      online = status.online;
    });
    return () => {
      stopTimer();
      stopListening();
    };
  }

  /**
   * Bring the local copy up to date. Resolves with the final state:
   * `{status, reason, done, total, downloaded, deleted, bytes, rows, lastSyncedAt}` —
   * `done`/`total` chunks match the service, `downloaded` and `deleted` chunks by this
   * sync, `bytes` received (decoded) by it. `onProgress(state)` is called for this sync's
   * states. A call while a sync runs starts one more sync after it (only one waits), as
   * the running one may have read the hashes before the caller's reason to sync.
   */
  sync({ onProgress = null } = {}) {
    if (this._running === null && this._queued === null) {
      return this._start(onProgress ? [onProgress] : []);
    }
    if (this._queued === null) {
      const queued = { listeners: [] };
      queued.promise = this._running.then(() => {
        this._queued = null;
        return this._start(queued.listeners);
      });
      this._queued = queued;
    }
    if (onProgress) this._queued.listeners.push(onProgress);
    return this._queued.promise;
  }

  _start(listeners) {
    const run = this._run(listeners).finally(() => {
      if (this._running === run) this._running = null;
    });
    this._running = run;
    return run;
  }

  _emit(listeners, state) {
    this._state = state;
    for (const listener of [...this._listeners, ...listeners]) {
      try {
        listener({ ...state });
      } catch (error) {
        console.error("bulk data sync: a progress listener failed:", error);
      }
    }
  }

  async _run(listeners) {
    const progress = { done: 0, total: 0, downloaded: 0, deleted: 0, bytes: 0, rows: 0 };
    // Every state carries when a sync last completed, so a page can always show it.
    let lastSyncedAt = null;
    const emit = (status, reason = "") =>
      this._emit(listeners, { status, reason, ...progress, lastSyncedAt });
    try {
      if (this._deleted) throw new SyncStop("signed-out", "the user's data was deleted (logout)");
      if (this._navigator?.onLine === false) throw new SyncStop("offline", "this device is offline");
      ({ lastSyncedAt, rows: progress.rows } = await this.info());
      emit("syncing");
      for (let round = 1; round <= this.maxRounds; round += 1) {
        const remote = await this._fetchHashes(progress);
        const local = await this._chunkHashes();
        const { download, remove } = syncPlan(local, remote);
        if (remove.length) {
          await this._deleteBuckets(remove);
          progress.deleted += remove.length;
        }
        progress.total = remote.size;
        progress.done = remote.size - download.length;
        progress.rows = await this._rowCount();
        emit("syncing");
        const stale = await this._download(download, remote, progress, () => emit("syncing"));
        if (!stale) {
          const now = this._now();
          await this._saveMeta({ lastSyncedAt: now });
          lastSyncedAt = now;
          emit("synced");
          return this.state;
        }
      }
      throw new SyncStop(
        "error",
        `the index kept changing during ${this.maxRounds} rounds; sync again later`,
      );
    } catch (error) {
      const stop =
        error instanceof SyncStop
          ? error
          : isQuotaError(error)
            ? new SyncStop("storage-full", `the browser refused to store more: ${error.message}`)
            : new SyncStop("error", error?.message ?? String(error));
      const kept = await this.info().catch(() => null);
      if (kept !== null) ({ lastSyncedAt, rows: progress.rows } = kept);
      emit(stop.status, stop.message);
      return this.state;
    }
  }

  _url(...parts) {
    const path = [this.pluginName, this.indexName, ...parts].map(encodeURIComponent);
    return `/bulk/${path.join("/")}`;
  }

  /** GET `url`: `{status, body, bytes}`, or throws SyncStop for answers that end a sync. */
  async _get(url, progress) {
    let response;
    let buffer;
    try {
      response = await this._fetch(url, {
        cache: "no-store",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
      buffer = await response.arrayBuffer();
    } catch (error) {
      throw new SyncStop("offline", `the service cannot be reached (${error?.message ?? error})`);
    }
    progress.bytes += buffer.byteLength;
    if (response.status === 401) throw new SyncStop("login-required", "the login has ended: log in again");
    if (response.status === 403) throw new SyncStop("forbidden", "this login may not read this data");
    let body = null;
    try {
      body = JSON.parse(new TextDecoder().decode(buffer));
    } catch {
      if (response.ok) throw new SyncStop("error", `${url} did not answer JSON`);
    }
    if (!response.ok && response.status !== 404 && response.status !== 409) {
      const detail = body?.error ? `: ${body.error}` : "";
      throw new SyncStop("error", `${url} answered ${response.status}${detail}`);
    }
    return { status: response.status, body };
  }

  async _fetchHashes(progress) {
    const { status, body } = await this._get(this._url("hashes"), progress);
    if (status === 404) {
      throw new SyncStop("not-published", `${this.pluginName} does not publish the index ${this.indexName}`);
    }
    const chunks = body?.chunks;
    if (status !== 200 || chunks === null || typeof chunks !== "object" || Array.isArray(chunks)) {
      throw new SyncStop("error", `the hashes of ${this.indexName} are not a {bucket: hash} object`);
    }
    return new Map(Object.entries(chunks).map(([bucket, hash]) => [bucket, String(hash)]));
  }

  /** Download `buckets` a few at a time, saving each as it arrives; true when any was
   * stale (the hashes must be read again). The first error stops new downloads; the
   * ones under way still save, then the error ends the sync. */
  async _download(buckets, remote, progress, emitProgress) {
    let next = 0;
    let stale = false;
    let failure = null;
    const worker = async () => {
      while (failure === null && next < buckets.length) {
        const bucket = buckets[next];
        next += 1;
        try {
          const saved = await this._syncChunk(bucket, remote.get(bucket), progress);
          if (saved === STALE) {
            stale = true;
          } else {
            progress.done += 1;
            progress.downloaded += 1;
            progress.rows += saved;
            emitProgress();
          }
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, buckets.length) }, worker));
    if (failure !== null) throw failure;
    return stale;
  }

  /** Download and save one chunk; the change in the row count, or STALE. */
  async _syncChunk(bucket, hash, progress) {
    const url = `${this._url("chunk", bucket)}?hash=${encodeURIComponent(hash)}`;
    const { status, body } = await this._get(url, progress);
    if (status === 404 || status === 409) return STALE;
    const rows = body?.rows;
    if (body?.bucket !== bucket || rows === null || typeof rows !== "object" || Array.isArray(rows)) {
      throw new SyncStop(
        "error",
        `chunk ${bucket} of ${this.indexName} is not a {bucket, hash, rows} object`,
      );
    }
    if (String(body.hash) !== hash) return STALE;
    return this._saveChunk(bucket, hash, rows);
  }

  // ---- the database ------------------------------------------------------------------

  async _open() {
    if (this._deleted) throw new SyncStop("signed-out", "the user's data was deleted (logout)");
    if (this._db === null) {
      this._db = new Promise((resolve, reject) => {
        const request = this._indexedDB.open(this.databaseName, DATABASE_VERSION);
        request.onupgradeneeded = () => {
          const db = request.result;
          db.createObjectStore(INDEXES, { keyPath: ["plugin", "index"] });
          db.createObjectStore(CHUNKS, { keyPath: ["plugin", "index", "bucket"] });
          const rows = db.createObjectStore(ROWS, { keyPath: ["plugin", "index", "bucket", "key"] });
          rows.createIndex(BY_KEY, ["plugin", "index", "key"]);
        };
        request.onsuccess = () => {
          const db = request.result;
          // Logout in any tab deletes the database: let it, and never write it back.
          db.onversionchange = (event) => {
            db.close();
            this._db = null;
            if (event.newVersion === null) this._deleted = true;
          };
          resolve(db);
        };
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error(`${this.databaseName} is blocked by another tab`));
      });
      this._db.catch(() => {
        this._db = null;
      });
    }
    return this._db;
  }

  /** Every key [plugin, index, ...]: [plugin, index] sorts before them, [plugin, index, []] after. */
  _indexRange() {
    return this._keyRange.bound([this.pluginName, this.indexName], [this.pluginName, this.indexName, []]);
  }

  _bucketRange(bucket) {
    return this._keyRange.bound(
      [this.pluginName, this.indexName, bucket],
      [this.pluginName, this.indexName, bucket, []],
    );
  }

  async _chunkRecords() {
    const db = await this._open();
    const chunks = db.transaction(CHUNKS, "readonly").objectStore(CHUNKS);
    return requestPromise(chunks.getAll(this._indexRange()));
  }

  async _chunkHashes() {
    return new Map((await this._chunkRecords()).map((record) => [record.bucket, record.hash]));
  }

  async _rowCount() {
    return (await this._chunkRecords()).reduce((sum, record) => sum + record.rowCount, 0);
  }

  /** Replace the bucket's rows and hash in one transaction; the change in the row count. */
  async _saveChunk(bucket, hash, rows) {
    const db = await this._open();
    const transaction = db.transaction([CHUNKS, ROWS], "readwrite");
    const done = transactionDone(transaction);
    const chunks = transaction.objectStore(CHUNKS);
    const store = transaction.objectStore(ROWS);
    const previous = requestPromise(chunks.get([this.pluginName, this.indexName, bucket]));
    store.delete(this._bucketRange(bucket));
    const keys = Object.keys(rows);
    for (const key of keys) {
      store.put({ plugin: this.pluginName, index: this.indexName, bucket, key, row: rows[key] });
    }
    chunks.put({
      plugin: this.pluginName,
      index: this.indexName,
      bucket,
      hash,
      rowCount: keys.length,
      savedAt: this._now(),
    });
    const before = (await previous)?.rowCount ?? 0;
    await done;
    return keys.length - before;
  }

  async _deleteBuckets(buckets) {
    const db = await this._open();
    const transaction = db.transaction([CHUNKS, ROWS], "readwrite");
    const done = transactionDone(transaction);
    for (const bucket of buckets) {
      transaction.objectStore(ROWS).delete(this._bucketRange(bucket));
      transaction.objectStore(CHUNKS).delete([this.pluginName, this.indexName, bucket]);
    }
    await done;
  }

  async _saveMeta(meta) {
    const db = await this._open();
    const transaction = db.transaction(INDEXES, "readwrite");
    const done = transactionDone(transaction);
    transaction.objectStore(INDEXES).put({ plugin: this.pluginName, index: this.indexName, ...meta });
    await done;
  }

  // ---- reading the local copy (works offline) ----------------------------------------

  /** `{lastSyncedAt, chunks, rows}` of the local copy; `lastSyncedAt` (ms) is when a sync
   * last completed, null before one has. */
  async info() {
    if (this._deleted) return { lastSyncedAt: null, chunks: 0, rows: 0 };
    const db = await this._open();
    const meta = await requestPromise(
      db.transaction(INDEXES, "readonly").objectStore(INDEXES).get([this.pluginName, this.indexName]),
    );
    const chunks = await this._chunkRecords();
    return {
      lastSyncedAt: meta?.lastSyncedAt ?? null,
      chunks: chunks.length,
      rows: chunks.reduce((sum, record) => sum + record.rowCount, 0),
    };
  }

  /** The row stored under `key`, or undefined. */
  async get(key) {
    if (this._deleted) return undefined;
    const db = await this._open();
    const index = db.transaction(ROWS, "readonly").objectStore(ROWS).index(BY_KEY);
    const record = await requestPromise(index.get([this.pluginName, this.indexName, String(key)]));
    return record?.row;
  }

  /**
   * The rows for which `filterFn(row, key)` is true, in bucket then key order, at most
   * `limit`. Reads one chunk at a time, so memory holds one chunk plus the matches.
   */
  async query(filterFn = () => true, { limit = Infinity } = {}) {
    if (this._deleted) return [];
    const found = [];
    for (const chunk of await this._chunkRecords()) {
      const db = await this._open();
      const records = await requestPromise(
        db.transaction(ROWS, "readonly").objectStore(ROWS).getAll(this._bucketRange(chunk.bucket)),
      );
      for (const record of records) {
        if (!filterFn(record.row, record.key)) continue;
        found.push(record.row);
        if (found.length >= limit) return found;
      }
    }
    return found;
  }

  /** Delete this index's local copy (other indexes stay). */
  async clear() {
    if (this._deleted) return;
    const db = await this._open();
    const transaction = db.transaction([INDEXES, CHUNKS, ROWS], "readwrite");
    const done = transactionDone(transaction);
    transaction.objectStore(ROWS).delete(this._indexRange());
    transaction.objectStore(CHUNKS).delete(this._indexRange());
    transaction.objectStore(INDEXES).delete([this.pluginName, this.indexName]);
    await done;
  }

  /** Close the database connection (it reopens on the next use). */
  close() {
    const db = this._db;
    this._db = null;
    db?.then((opened) => opened.close(), () => undefined);
  }
}
