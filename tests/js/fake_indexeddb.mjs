// A small in-memory IndexedDB for the node tests of the offline tuple storage: databases,
// object stores with array key paths, key ranges, transactions that commit when their
// requests are done (or abort), versionchange on delete, and an optional quota that makes
// a commit abort with QuotaExceededError, as a browser does when its storage is full, and
// indexes with array key paths (get, getAll, count).
// Only what vortex/js/offlineStorage.js and peek_platform/web/assets/app/bulk-sync.mjs use;
// real IndexedDB runs in the Chromium tests.

function typeRank(value) {
  if (typeof value === "number") return 1;
  if (typeof value === "string") return 2;
  if (Array.isArray(value)) return 3;
  throw new TypeError(`not a key: ${value}`);
}

/** IndexedDB key order: numbers < strings < arrays, arrays element by element. */
export function compareKeys(a, b) {
  const rank = typeRank(a) - typeRank(b);
  if (rank !== 0) return Math.sign(rank);
  if (!Array.isArray(a)) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    const order = compareKeys(a[i], b[i]);
    if (order !== 0) return order;
  }
  return Math.sign(a.length - b.length);
}

export class FakeKeyRange {
  constructor(lower, upper) {
    this.lower = lower;
    this.upper = upper;
  }

  static bound(lower, upper) {
    return new FakeKeyRange(lower, upper);
  }

  includes(key) {
    return compareKeys(key, this.lower) >= 0 && compareKeys(key, this.upper) <= 0;
  }
}

function later(fn) {
  setTimeout(fn, 0);
}

class FakeRequest {
  _succeed(result) {
    this.result = result;
    later(() => this.onsuccess?.({ target: this }));
  }
}

class FakeStore {
  constructor(transaction, name) {
    this._transaction = transaction;
    this._name = name;
  }

  get _records() {
    return this._transaction._stage.get(this._name).records;
  }

  _keyOf(value) {
    return this._transaction._stage.get(this._name).keyPath.map((part) => value[part]);
  }

  _request(run) {
    return this._transaction._request(run);
  }

  _matching(query, records = this._records) {
    return [...records.entries()]
      .map(([text, value]) => [JSON.parse(text), value])
      .filter(([key]) => (query instanceof FakeKeyRange ? query.includes(key) : compareKeys(key, query) === 0))
      .sort(([a], [b]) => compareKeys(a, b));
  }

  /** Apply `write(records)` to this transaction's view now, and to the database at commit. */
  _write(write) {
    return this._request(() => {
      write(this._records);
      this._transaction._writes.push([this._name, write]);
    });
  }

  get(key) {
    return this._request(() => structuredClone(this._matching(key)[0]?.[1]));
  }

  getAll(range) {
    return this._request(() => this._matching(range).map(([, value]) => structuredClone(value)));
  }

  put(value) {
    const key = JSON.stringify(this._keyOf(value));
    const copy = structuredClone(value);
    return this._write((records) => records.set(key, structuredClone(copy)));
  }

  delete(query) {
    return this._write((records) => {
      for (const [key] of this._matching(query, records)) records.delete(JSON.stringify(key));
    });
  }

  index(name) {
    const keyPath = this._transaction._stage.get(this._name).indexes.get(name);
    if (keyPath === undefined) throw new DOMException(`no index ${name}`, "NotFoundError");
    return new FakeIndex(this, keyPath);
  }
}

/** An index: records ordered by the index key (then the primary key), as IndexedDB does. */
class FakeIndex {
  constructor(store, keyPath) {
    this._store = store;
    this._keyPath = keyPath;
  }

  _matching(query) {
    const range = query instanceof FakeKeyRange ? query : FakeKeyRange.bound(query, query);
    return [...this._store._records.entries()]
      .map(([text, value]) => [JSON.parse(text), value])
      .map(([primary, value]) => [this._keyPath.map((part) => value[part]), primary, value])
      .filter(([key]) => range.includes(key))
      .sort(([a, pa], [b, pb]) => compareKeys(a, b) || compareKeys(pa, pb))
      .map(([, , value]) => value);
  }

  get(query) {
    return this._store._request(() => structuredClone(this._matching(query)[0]));
  }

  getAll(query) {
    return this._store._request(() => this._matching(query).map((value) => structuredClone(value)));
  }

  count(query) {
    return this._store._request(() => this._matching(query).length);
  }
}

class FakeTransaction {
  constructor(db, names) {
    this._db = db;
    this._names = names;
    this._stage = new Map();
    for (const name of names) {
      const store = db._data.stores.get(name);
      this._stage.set(name, { keyPath: store.keyPath, indexes: store.indexes, records: new Map(store.records) });
    }
    /** `[storeName, write]` in order: replayed on the database's records at commit, so
     * transactions that overlap in time keep each other's writes (a browser runs them one
     * after the other). */
    this._writes = [];
    this._pending = 0;
    this._finished = false;
    this.error = null;
    later(() => this._maybeCommit());
  }

  objectStore(name) {
    if (!this._names.includes(name)) throw new Error(`${name} is not in this transaction`);
    return new FakeStore(this, name);
  }

  _request(run) {
    if (this._finished) throw new DOMException("transaction finished", "TransactionInactiveError");
    const request = new FakeRequest();
    this._pending += 1;
    const result = run();
    later(() => {
      this._pending -= 1;
      if (this._finished) return;
      request.result = result;
      request.onsuccess?.({ target: request });
      later(() => this._maybeCommit());
    });
    return request;
  }

  _maybeCommit() {
    if (this._finished || this._pending > 0) return;
    this._finished = true;
    const committed = new Map();
    for (const [name, write] of this._writes) {
      if (!committed.has(name)) committed.set(name, new Map(this._db._data.stores.get(name).records));
      write(committed.get(name));
    }
    let used = 0;
    for (const [name, store] of this._db._data.stores) {
      const records = committed.get(name) ?? store.records;
      for (const value of records.values()) used += JSON.stringify(value).length;
    }
    if (used > this._db._factory.quotaBytes) {
      this.error = new DOMException("the quota is used up", "QuotaExceededError");
      this.onabort?.({ target: this });
      return;
    }
    for (const [name, records] of committed) this._db._data.stores.get(name).records = records;
    this.oncomplete?.({ target: this });
  }

  abort() {
    if (this._finished) return;
    this._finished = true;
    this.error = new DOMException("aborted", "AbortError");
    later(() => this.onabort?.({ target: this }));
  }
}

class FakeDatabase {
  constructor(factory, data) {
    this._factory = factory;
    this._data = data;
    this.closed = false;
  }

  createObjectStore(name, { keyPath }) {
    const store = { keyPath, indexes: new Map(), records: new Map() };
    this._data.stores.set(name, store);
    return { createIndex: (indexName, indexKeyPath) => store.indexes.set(indexName, indexKeyPath) };
  }

  transaction(names, mode) {
    if (this.closed) throw new DOMException("the database is closed", "InvalidStateError");
    return new FakeTransaction(this, Array.isArray(names) ? names : [names], mode);
  }

  close() {
    this.closed = true;
    this._data.connections.delete(this);
  }
}

/** The fake `indexedDB`; `quotaBytes` bounds the JSON size of everything stored. */
export class FakeIndexedDB {
  constructor({ quotaBytes = Infinity } = {}) {
    this.quotaBytes = quotaBytes;
    this._databases = new Map();
  }

  open(name) {
    const request = new FakeRequest();
    later(() => {
      let data = this._databases.get(name);
      const created = data === undefined;
      if (created) {
        data = { stores: new Map(), connections: new Set() };
        this._databases.set(name, data);
      }
      const db = new FakeDatabase(this, data);
      data.connections.add(db);
      request.result = db;
      if (created) request.onupgradeneeded?.({ target: request });
      request._succeed(db);
    });
    return request;
  }

  deleteDatabase(name) {
    const request = new FakeRequest();
    later(() => {
      const data = this._databases.get(name);
      for (const db of data?.connections ?? []) db.onversionchange?.({ newVersion: null });
      this._databases.delete(name);
      request._succeed(undefined);
    });
    return request;
  }

  /** Names of the databases that exist. */
  names() {
    return [...this._databases.keys()];
  }
}
