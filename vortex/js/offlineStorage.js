/**
 * Offline tuple storage: tuples kept in the browser's IndexedDB by TupleSelector, so a page
 * shows its last data with no network, and before its service has answered
 * (docs/plugins/offline-data.rst; the manual's TupleOfflineStorageService).
 *
 * Each user has one database, `vortex-tuples:<userId>`. Each plugin (each storage name, the
 * manual's TupleOfflineStorageNameService) has its own store inside it: the entries whose
 * key starts with that name. A name is a key range rather than an IndexedDB object store,
 * because adding an object store needs a version upgrade that waits until every other tab
 * has closed the database; a key range gives the same separation without that wait.
 *
 * Every name has a size budget: a save that would exceed it first evicts that name's least
 * recently used entries (saving or loading an entry uses it), and so does a save the
 * browser refuses (QuotaExceededError). Logging out deletes the user's database.
 */

import { TupleSelector, defaultTupleRegistry } from "./tuples.js";
import { decodePayload, encodePayloadText, toSortedJson } from "./wire.js";

/** The default budget of one storage name (one plugin of one user): 20 MiB. */
export const DEFAULT_STORAGE_BUDGET_BYTES = 20 * 1024 * 1024;

const DATABASE_PREFIX = "vortex-tuples:";
const DATABASE_VERSION = 1;
/** Metadata of each entry: `{store, key, tupleName, bytes, savedAt, lastUsedAt}`. */
const ENTRIES = "entries";
/** The encoded tuples of each entry: `{store, key, text}`, apart so budgets read little. */
const PAYLOADS = "payloads";
const utf8Encoder = new TextEncoder();

/** The IndexedDB database holding `userId`'s stored tuples. */
export function offlineDatabaseName(userId) {
  if (userId === null || userId === undefined || String(userId) === "") {
    throw new TypeError("offline tuple storage needs the id of the logged-in user");
  }
  return DATABASE_PREFIX + encodeURIComponent(String(userId));
}

/** The key an entry is stored under: the selector's sorted JSON (as observers key it). */
export function tupleSelectorKey(tupleSelector) {
  if (!(tupleSelector instanceof TupleSelector)) {
    throw new TypeError("offline tuple storage needs a TupleSelector");
  }
  return toSortedJson(tupleSelector);
}

/** Names one plugin's store in the user's offline database (the manual's name service). */
export class TupleOfflineStorageNameService {
  constructor(name) {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("a TupleOfflineStorageNameService needs a non-empty name");
    }
    this.name = name;
  }
}

/**
 * Which entries to evict, least recently used first, so that an entry of `incoming.bytes`
 * under `incoming.key` fits `budgetBytes`, plus `extra` more (the browser refused the
 * write). `entries` are the store's `{key, bytes, lastUsedAt}`; the entry being replaced
 * never counts. Returns the keys, or null when even evicting everything is not enough.
 */
export function entriesToEvict(entries, budgetBytes, incoming, extra = 0) {
  if (incoming.bytes > budgetBytes) return null;
  const others = entries
    .filter((entry) => entry.key !== incoming.key)
    .sort((a, b) => a.lastUsedAt - b.lastUsedAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let total = incoming.bytes + others.reduce((sum, entry) => sum + entry.bytes, 0);
  const evicted = [];
  for (const entry of others) {
    if (total <= budgetBytes && evicted.length >= extra) break;
    evicted.push(entry.key);
    total -= entry.bytes;
  }
  if (evicted.length < extra) return null;
  return evicted;
}

/** True for the errors a browser raises when its storage quota is used up. */
export function isQuotaError(error) {
  return error?.name === "QuotaExceededError" || error?.code === 22;
}

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

/** Delete `userId`'s offline database (at logout); resolves once it is gone. */
export function deleteUserOfflineStorage(userId, indexedDB = globalThis.indexedDB) {
  return requestPromise(indexedDB.deleteDatabase(offlineDatabaseName(userId))).then(() => undefined);
}

/**
 * One plugin's stored tuples for one user.
 *
 *   const storage = new TupleOfflineStorage(
 *     new TupleOfflineStorageNameService("peek_plugin_tutorial"), { userId });
 *   await storage.save(selector, tuples);
 *   const found = await storage.load(selector);  // {tuples, savedAt, ageMs} or null
 *
 * Options: `userId` (required: whose database), `budgetBytes` (this name's budget,
 * default 20 MiB), `registry` (to decode stored tuples), `indexedDB` and `now` (tests).
 * Once the user's database is deleted (logout in any tab), saves are ignored and loads
 * find nothing, so a page left open cannot write the data back.
 */
export class TupleOfflineStorage {
  constructor(
    nameService,
    {
      userId,
      budgetBytes = DEFAULT_STORAGE_BUDGET_BYTES,
      registry = defaultTupleRegistry,
      indexedDB = globalThis.indexedDB,
      now = () => Date.now(),
    } = {},
  ) {
    const name = nameService instanceof TupleOfflineStorageNameService ? nameService.name : nameService;
    this.name = new TupleOfflineStorageNameService(name).name;
    this.databaseName = offlineDatabaseName(userId);
    if (!(Number.isFinite(budgetBytes) && budgetBytes > 0)) {
      throw new RangeError(`budgetBytes must be a positive number, not ${budgetBytes}`);
    }
    this.budgetBytes = budgetBytes;
    this.registry = registry;
    this._indexedDB = indexedDB;
    this._now = now;
    this._db = null;
    this._deleted = false;
  }

  /** False once the user's database was deleted (logout) while this storage was open. */
  get usable() {
    return !this._deleted;
  }

  async _open() {
    if (this._db === null) {
      this._db = new Promise((resolve, reject) => {
        const request = this._indexedDB.open(this.databaseName, DATABASE_VERSION);
        request.onupgradeneeded = () => {
          const db = request.result;
          db.createObjectStore(ENTRIES, { keyPath: ["store", "key"] });
          db.createObjectStore(PAYLOADS, { keyPath: ["store", "key"] });
        };
        request.onsuccess = () => {
          const db = request.result;
          // Another tab deletes the database (logout): let it, and stop using it here.
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

  _range() {
    // Every [name, key] with a string key: [name] sorts before them, [name, []] after.
    return IDBKeyRange.bound([this.name], [this.name, []]);
  }

  /**
   * Store `tuples` as the data of `tupleSelector`, replacing what was stored. Resolves with
   * `{stored, evicted}`: `stored` is false when the data is larger than the whole budget
   * (the old entry is then deleted, as it is out of date) or the user's data was deleted;
   * `evicted` counts the entries removed to make room. Rejects when the browser refuses
   * the write even with every other entry of this name evicted.
   */
  async save(tupleSelector, tuples) {
    const key = tupleSelectorKey(tupleSelector);
    const text = encodePayloadText({ filt: {}, tuples });
    const bytes = utf8Encoder.encode(text).length + utf8Encoder.encode(key).length;
    for (let extra = 0; ; extra += 1) {
      if (this._deleted) return { stored: false, evicted: 0 };
      try {
        return await this._write(tupleSelector, key, text, bytes, extra);
      } catch (e) {
        if (!isQuotaError(e)) throw e;
        if (e.nothingLeft) {
          throw new Error(
            `the browser refused to store ${bytes} bytes for ${this.name} even with its other ` +
              `entries evicted: ${e.message}`,
          );
        }
      }
    }
  }

  async _write(tupleSelector, key, text, bytes, extra) {
    const db = await this._open();
    const transaction = db.transaction([ENTRIES, PAYLOADS], "readwrite");
    const done = transactionDone(transaction);
    const entries = transaction.objectStore(ENTRIES);
    const payloads = transaction.objectStore(PAYLOADS);
    const existing = await requestPromise(entries.getAll(this._range()));
    const evict = entriesToEvict(existing, this.budgetBytes, { key, bytes }, extra);
    if (evict === null && extra > 0) {
      transaction.abort();
      await done.catch(() => undefined);
      const error = new DOMException("no entry left to evict", "QuotaExceededError");
      error.nothingLeft = true;
      throw error;
    }
    let result;
    try {
      result = this._apply(entries, payloads, tupleSelector, key, text, bytes, evict);
    } catch (e) {
      // A request refused at once (some browsers throw the quota error here): write nothing.
      transaction.abort();
      await done.catch(() => undefined);
      throw e;
    }
    await done;
    return result;
  }

  _apply(entries, payloads, tupleSelector, key, text, bytes, evict) {
    if (evict === null) {
      entries.delete([this.name, key]);
      payloads.delete([this.name, key]);
      return { stored: false, evicted: 0 };
    }
    for (const evictedKey of evict) {
      entries.delete([this.name, evictedKey]);
      payloads.delete([this.name, evictedKey]);
    }
    const now = this._now();
    entries.put({ store: this.name, key, tupleName: tupleSelector.name, bytes, savedAt: now, lastUsedAt: now });
    payloads.put({ store: this.name, key, text });
    return { stored: true, evicted: evict.length };
  }

  /**
   * The stored data of `tupleSelector`: `{tuples, savedAt, ageMs}` (times in ms), or null.
   * Loading counts as a use for eviction. An entry that no longer decodes (its tuple
   * classes changed) is deleted and not found.
   */
  async load(tupleSelector) {
    const key = tupleSelectorKey(tupleSelector);
    if (this._deleted) return null;
    const db = await this._open();
    const transaction = db.transaction([ENTRIES, PAYLOADS], "readwrite");
    const done = transactionDone(transaction);
    const entries = transaction.objectStore(ENTRIES);
    const payloads = transaction.objectStore(PAYLOADS);
    const [entry, payload] = await Promise.all([
      requestPromise(entries.get([this.name, key])),
      requestPromise(payloads.get([this.name, key])),
    ]);
    if (entry === undefined || payload === undefined) {
      await done;
      return null;
    }
    let tuples = null;
    try {
      tuples = decodePayload(payload.text, this.registry).tuples;
      entries.put({ ...entry, lastUsedAt: this._now() });
    } catch {
      entries.delete([this.name, key]);
      payloads.delete([this.name, key]);
    }
    await done;
    if (tuples === null) return null;
    return { tuples, savedAt: entry.savedAt, ageMs: Math.max(0, this._now() - entry.savedAt) };
  }

  /** Delete the stored data of `tupleSelector` (nothing happens when there is none). */
  async delete(tupleSelector) {
    const key = tupleSelectorKey(tupleSelector);
    if (this._deleted) return;
    const db = await this._open();
    const transaction = db.transaction([ENTRIES, PAYLOADS], "readwrite");
    const done = transactionDone(transaction);
    transaction.objectStore(ENTRIES).delete([this.name, key]);
    transaction.objectStore(PAYLOADS).delete([this.name, key]);
    await done;
  }

  /**
   * This name's entries, oldest use first: `{key, tupleName, bytes, savedAt, lastUsedAt,
   * ageMs}` (the age of the data since it was saved).
   */
  async entries() {
    if (this._deleted) return [];
    const db = await this._open();
    const transaction = db.transaction(ENTRIES, "readonly");
    const all = await requestPromise(transaction.objectStore(ENTRIES).getAll(this._range()));
    const now = this._now();
    return all
      .map(({ key, tupleName, bytes, savedAt, lastUsedAt }) => ({
        key,
        tupleName,
        bytes,
        savedAt,
        lastUsedAt,
        ageMs: Math.max(0, now - savedAt),
      }))
      .sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  }

  /** `{entries, bytes}`: how many entries this name holds and their size. */
  async usage() {
    const entries = await this.entries();
    return { entries: entries.length, bytes: entries.reduce((sum, entry) => sum + entry.bytes, 0) };
  }

  /** Delete every entry of this name (other plugins' entries stay). */
  async clear() {
    if (this._deleted) return;
    const db = await this._open();
    const transaction = db.transaction([ENTRIES, PAYLOADS], "readwrite");
    const done = transactionDone(transaction);
    transaction.objectStore(ENTRIES).delete(this._range());
    transaction.objectStore(PAYLOADS).delete(this._range());
    await done;
  }

  /** Close the database connection (it reopens on the next use). */
  close() {
    const db = this._db;
    this._db = null;
    db?.then((opened) => opened.close(), () => undefined);
  }
}

// ---- showing the age of stored data --------------------------------------------------

function twoDigits(value) {
  return String(value).padStart(2, "0");
}

/**
 * When data was saved, as a page shows it: `HH:MM` (24 h, local time) for today, else
 * `YYYY-MM-DD HH:MM`.
 */
export function dataTimeText(savedAt, now = Date.now()) {
  const saved = new Date(savedAt);
  const today = new Date(now);
  const time = `${twoDigits(saved.getHours())}:${twoDigits(saved.getMinutes())}`;
  if (saved.toDateString() === today.toDateString()) return time;
  const date = `${saved.getFullYear()}-${twoDigits(saved.getMonth() + 1)}-${twoDigits(saved.getDate())}`;
  return `${date} ${time}`;
}

/** An age in words: "less than a minute", "1 minute", "5 minutes", "3 hours", "2 days". */
export function ageText(ageMs) {
  const minutes = Math.floor(Math.max(0, ageMs) / 60_000);
  if (minutes < 1) return "less than a minute";
  const [count, unit] =
    minutes < 60 ? [minutes, "minute"] : minutes < 48 * 60 ? [Math.floor(minutes / 60), "hour"] : [Math.floor(minutes / 1440), "day"];
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

// ---- observing with offline storage --------------------------------------------------

/**
 * Observes like `VortexClient.observe`, with the data kept in a TupleOfflineStorage (the
 * manual's TupleDataOfflineObserverService).
 *
 * `callback(tuples, info)` gets the stored copy at once, with `info = {cached: true,
 * savedAt, ageMs}`, unless live data came first; then the live data and every update,
 * with `{cached: false, savedAt, ageMs: 0}`. Every live update is saved (in order).
 * Storage errors go to `onError`, else to the client's error listeners; the observer
 * goes on without them.
 */
export class TupleDataOfflineObserver {
  constructor(vortex, storage, { now = () => Date.now() } = {}) {
    this.vortex = vortex;
    this.storage = storage;
    this._now = now;
  }

  /** Start observing; returns a function that stops. */
  observe(observableName, tupleSelector, callback, { additionalFilt = {}, onError = null } = {}) {
    const report = (error) => {
      if (onError !== null) onError(error);
      else this.vortex._reportError(error);
    };
    let live = false;
    let stopped = false;
    let saving = Promise.resolve();
    this.storage.load(tupleSelector).then((found) => {
      if (found === null || live || stopped) return;
      callback(found.tuples, { cached: true, savedAt: found.savedAt, ageMs: found.ageMs });
    }, report);
    const unobserve = this.vortex.observe(
      observableName,
      tupleSelector,
      (tuples) => {
        live = true;
        callback(tuples, { cached: false, savedAt: this._now(), ageMs: 0 });
        saving = saving.then(() => this.storage.save(tupleSelector, tuples)).catch(report);
      },
      { additionalFilt, onError },
    );
    return () => {
      stopped = true;
      unobserve();
    };
  }
}
