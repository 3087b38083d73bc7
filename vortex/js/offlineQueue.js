/**
 * The offline action queue: tuple actions persisted in the browser and pushed, in order,
 * until each one gets its response (docs/vortex/browser-client.rst).
 *
 * Stores hold plain JSON entries `{id, seq, actionProcessorName, filtText, bodyText}` and
 * offer `list()` (oldest first), `put(entry)` and `delete(id)`, all async.
 */

import { Backoff } from "./backoff.js";
import { VortexNotConnectedError, VortexTimeoutError } from "./errors.js";

/** Error codes of answers after which the same action is pushed again after a delay. */
const RETRIED_CODES = new Set(["not-connected", "retry-later"]);

function byAge(a, b) {
  return a.seq - b.seq || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A store in memory: survives re-creating the client (a simulated reload), not the page. */
export class MemoryQueueStore {
  constructor() {
    this._entries = new Map();
  }

  async list() {
    return [...this._entries.values()].map((entry) => JSON.parse(entry)).sort(byAge);
  }

  async put(entry) {
    this._entries.set(entry.id, JSON.stringify(entry));
  }

  async delete(id) {
    this._entries.delete(id);
  }
}

/** A store in `localStorage` (or any Storage-like object), one JSON array under `key`. */
export class LocalStorageQueueStore {
  constructor(key, storage = globalThis.localStorage) {
    this.key = key;
    this.storage = storage;
  }

  _read() {
    const text = this.storage.getItem(this.key);
    return text === null ? [] : JSON.parse(text);
  }

  async list() {
    return this._read().sort(byAge);
  }

  async put(entry) {
    const entries = this._read().filter((other) => other.id !== entry.id);
    entries.push(entry);
    this.storage.setItem(this.key, JSON.stringify(entries));
  }

  async delete(id) {
    this.storage.setItem(this.key, JSON.stringify(this._read().filter((entry) => entry.id !== id)));
  }
}

function requestPromise(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** A store in IndexedDB: database `dbName`, object store `entries` keyed by id. */
export class IndexedDbQueueStore {
  constructor(dbName, indexedDB = globalThis.indexedDB) {
    this.dbName = dbName;
    this._indexedDB = indexedDB;
    this._db = null;
  }

  async _store(mode) {
    if (this._db === null) {
      const request = this._indexedDB.open(this.dbName, 1);
      request.onupgradeneeded = () => request.result.createObjectStore("entries", { keyPath: "id" });
      this._db = await requestPromise(request);
    }
    return this._db.transaction("entries", mode).objectStore("entries");
  }

  async list() {
    const entries = await requestPromise((await this._store("readonly")).getAll());
    return entries.sort(byAge);
  }

  async put(entry) {
    await requestPromise((await this._store("readwrite")).put(entry));
  }

  async delete(id) {
    await requestPromise((await this._store("readwrite")).delete(id));
  }
}

/** The best persistent store this environment has: IndexedDB, else localStorage, else memory. */
export function defaultQueueStore(name) {
  if (globalThis.indexedDB) return new IndexedDbQueueStore(name);
  if (globalThis.localStorage) return new LocalStorageQueueStore(name);
  return new MemoryQueueStore();
}

function randomHex(bytes) {
  const data = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Pushes stored actions one at a time, oldest first, while the link is up.
 *
 * `send(entry)` pushes one entry and resolves with `{error, tuples}` once a response
 * arrives; it rejects with VortexNotConnectedError / VortexTimeoutError when none did, and
 * the entry is pushed again later. A `not-connected` error response (a proxy could not
 * reach the processor) or `retry-later` (the processor's database was briefly
 * unavailable) is retried after a backoff delay too; any other response, success
 * or error, settles the entry: it is deleted from the store, then reported exactly once,
 * to the promise from `add()` if this page pushed it, else to `onResult` handlers.
 */
export class OfflineActionQueue {
  constructor({ store, send, isOnline, onError, timers = globalThis, backoff = new Backoff() }) {
    this._store = store;
    this._send = send;
    this._isOnline = isOnline;
    this._onError = onError;
    this._timers = timers;
    this._backoff = backoff;
    this._entries = [];
    this._waiters = new Map();
    this._handlers = new Set();
    this._unclaimed = [];
    this._pumping = false;
    this._retryTimer = null;
    this._lastSeq = 0;
    this._stopped = false;
    this._loaded = false;
    this.ready = store.list().then(
      (entries) => {
        const added = new Set(this._entries.map((entry) => entry.id));
        const stored = entries.filter((entry) => !added.has(entry.id));
        this._entries = [...stored, ...this._entries].sort(byAge);
        this._loaded = true;
        for (const entry of entries) this._lastSeq = Math.max(this._lastSeq, entry.seq);
        this.kick();
      },
      (e) => {
        this._loaded = true;
        this._onError(new Error(`offline action queue: cannot read the stored actions: ${e.message}`));
        this.kick();
      },
    );
  }

  /** How many actions wait for a response. */
  get size() {
    return this._entries.length;
  }

  /** Persist an action and resolve with its response (`{error, tuples}`) once answered. */
  async add({ actionProcessorName, filtText, bodyText }) {
    this._lastSeq = Math.max(this._lastSeq + 1, Date.now());
    const entry = {
      id: `${this._lastSeq}-${randomHex(6)}`,
      seq: this._lastSeq,
      actionProcessorName,
      filtText,
      bodyText,
    };
    const answered = new Promise((resolve) => this._waiters.set(entry.id, resolve));
    await this._store.put(entry);
    this._entries.push(entry);
    this.kick();
    return answered;
  }

  /** Call handler(entry, {error, tuples}) for answered actions no promise is waiting for. */
  onResult(handler) {
    this._handlers.add(handler);
    const unclaimed = this._unclaimed;
    this._unclaimed = [];
    for (const [entry, response] of unclaimed) this._report(entry, response);
    return () => this._handlers.delete(handler);
  }

  /** Start pushing (again) if there is anything to push and the link is up. */
  kick() {
    if (!this._loaded || this._pumping || this._stopped || this._retryTimer !== null) return;
    if (this._entries.length === 0 || !this._isOnline()) return;
    this._pumping = true;
    this._pump().finally(() => {
      this._pumping = false;
    });
  }

  /** Stop pushing (the client is closing); stored actions stay stored. */
  stop() {
    this._stopped = true;
    if (this._retryTimer !== null) this._timers.clearTimeout(this._retryTimer);
    this._retryTimer = null;
  }

  async _pump() {
    while (this._entries.length > 0 && this._isOnline() && !this._stopped) {
      const entry = this._entries[0];
      let response;
      try {
        response = await this._send(entry);
      } catch (e) {
        if (e instanceof VortexNotConnectedError) return;
        if (e instanceof VortexTimeoutError) continue;
        response = { error: e, tuples: [] };
      }
      if (this._stopped) return;
      if (RETRIED_CODES.has(response.error?.code)) {
        this._retryLater();
        return;
      }
      this._backoff.reset();
      this._entries.shift();
      try {
        await this._store.delete(entry.id);
      } catch (e) {
        this._onError(
          new Error(`offline action queue: cannot delete answered action ${entry.id}: ${e.message}`),
        );
      }
      this._report(entry, response);
    }
  }

  _retryLater() {
    this._retryTimer = this._timers.setTimeout(() => {
      this._retryTimer = null;
      this.kick();
    }, this._backoff.nextDelayMs());
  }

  _report(entry, response) {
    const waiter = this._waiters.get(entry.id);
    if (waiter !== undefined) {
      this._waiters.delete(entry.id);
      waiter(response);
      return;
    }
    if (this._handlers.size === 0) {
      this._unclaimed.push([entry, response]);
      return;
    }
    for (const handler of this._handlers) {
      try {
        handler(entry, response);
      } catch (e) {
        this._onError(e);
      }
    }
  }
}
