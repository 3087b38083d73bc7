// Offline tuple storage: eviction order and budget, selector keys and database names, how a
// page shows the age of stored data, the offline observer, and the storage on a small
// in-memory IndexedDB (fake_indexeddb.mjs). Real IndexedDB is exercised in Chromium
// (tests/browser/test_offline_field_page.py).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  TupleDataOfflineObserver,
  TupleOfflineStorage,
  TupleOfflineStorageNameService,
  TupleSelector,
  ageText,
  dataTimeText,
  deleteUserOfflineStorage,
  entriesToEvict,
  isQuotaError,
  offlineDatabaseName,
  tupleSelectorKey,
} from "../../vortex/js/index.js";
import { FakeIndexedDB, FakeKeyRange } from "./fake_indexeddb.mjs";

const entry = (key, bytes, lastUsedAt) => ({ key, bytes, lastUsedAt });

test("nothing is evicted while the new entry fits the budget", () => {
  const entries = [entry("a", 30, 1), entry("b", 30, 2)];
  assert.deepEqual(entriesToEvict(entries, 100, { key: "c", bytes: 40 }), []);
});

test("the least recently used entries are evicted until the new entry fits", () => {
  const entries = [entry("new", 10, 5), entry("old", 30, 1), entry("mid", 30, 3), entry("c", 30, 4)];
  assert.deepEqual(entriesToEvict(entries, 100, { key: "x", bytes: 50 }), ["old", "mid"]);
});

test("the entry being replaced does not count against the budget and is never evicted", () => {
  const entries = [entry("a", 60, 1), entry("b", 30, 2)];
  assert.deepEqual(entriesToEvict(entries, 100, { key: "a", bytes: 70 }), []);
  assert.deepEqual(entriesToEvict(entries, 100, { key: "a", bytes: 80 }), ["b"]);
});

test("data larger than the whole budget is not stored", () => {
  assert.equal(entriesToEvict([entry("a", 1, 1)], 100, { key: "b", bytes: 101 }), null);
});

test("a refused write evicts extra entries, and says when none are left", () => {
  const entries = [entry("a", 10, 2), entry("b", 10, 1)];
  assert.deepEqual(entriesToEvict(entries, 1000, { key: "c", bytes: 10 }, 1), ["b"]);
  assert.deepEqual(entriesToEvict(entries, 1000, { key: "c", bytes: 10 }, 2), ["b", "a"]);
  assert.equal(entriesToEvict(entries, 1000, { key: "c", bytes: 10 }, 3), null);
});

test("quota errors are recognised by name or legacy code", () => {
  assert.ok(isQuotaError(new DOMException("full", "QuotaExceededError")));
  assert.ok(isQuotaError({ code: 22 }));
  assert.ok(!isQuotaError(new Error("other")));
  assert.ok(!isQuotaError(null));
});

test("selector keys ignore the order of selector items; other selectors differ", () => {
  const a = new TupleSelector("T", { b: 2, a: 1 });
  const b = new TupleSelector("T", { a: 1, b: 2 });
  assert.equal(tupleSelectorKey(a), tupleSelectorKey(b));
  assert.notEqual(tupleSelectorKey(a), tupleSelectorKey(new TupleSelector("T", { a: 1 })));
  assert.throws(() => tupleSelectorKey({ name: "T" }), TypeError);
});

test("each user has their own database; a storage needs a user and a name", () => {
  assert.equal(offlineDatabaseName("u-1"), "vortex-tuples:u-1");
  assert.equal(offlineDatabaseName("a b/c"), "vortex-tuples:a%20b%2Fc");
  assert.throws(() => offlineDatabaseName(""), TypeError);
  assert.throws(() => new TupleOfflineStorage("plugin", {}), TypeError);
  assert.throws(() => new TupleOfflineStorageNameService(""), TypeError);
  const storage = new TupleOfflineStorage(new TupleOfflineStorageNameService("p"), {
    userId: "7",
    budgetBytes: 10,
    indexedDB: {},
  });
  assert.equal(storage.name, "p");
  assert.equal(storage.databaseName, "vortex-tuples:7");
  assert.throws(() => new TupleOfflineStorage("p", { userId: "7", budgetBytes: 0 }), RangeError);
});

test("the time of stored data is HH:MM today and carries the date on other days", () => {
  const now = new Date(2026, 11, 3, 16, 30).getTime();
  assert.equal(dataTimeText(new Date(2026, 11, 3, 9, 5).getTime(), now), "09:05");
  assert.equal(dataTimeText(new Date(2026, 11, 2, 23, 59).getTime(), now), "2026-12-02 23:59");
});

test("ages are said in whole minutes, hours, then days", () => {
  assert.equal(ageText(59_000), "less than a minute");
  assert.equal(ageText(-5), "less than a minute");
  assert.equal(ageText(60_000), "1 minute");
  assert.equal(ageText(59 * 60_000), "59 minutes");
  assert.equal(ageText(60 * 60_000), "1 hour");
  assert.equal(ageText(47 * 3600_000), "47 hours");
  assert.equal(ageText(48 * 3600_000), "2 days");
});

/** A storage double holding entries in memory, for the observer's ordering. */
class MemoryStorage {
  constructor(found) {
    this.found = found;
    this.saved = [];
  }

  async load() {
    return this.found;
  }

  async save(selector, tuples) {
    this.saved.push(tuples);
    return { stored: true, evicted: 0 };
  }
}

/** A client double: observe() hands the test the callback that delivers live data. */
class FakeVortex {
  observe(name, selector, callback) {
    this.deliver = callback;
    return () => {
      this.deliver = null;
    };
  }

  _reportError(error) {
    throw error;
  }
}

test("the observer gives the stored copy first, then live data, and stores every update", async () => {
  const storage = new MemoryStorage({ tuples: ["old"], savedAt: 1000, ageMs: 500 });
  const vortex = new FakeVortex();
  const seen = [];
  const observer = new TupleDataOfflineObserver(vortex, storage, { now: () => 2000 });
  observer.observe("obs", new TupleSelector("T", {}), (tuples, info) => seen.push([tuples, info]));
  await new Promise((resolve) => setTimeout(resolve, 0));
  vortex.deliver(["live1"]);
  vortex.deliver(["live2"]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(seen, [
    [["old"], { cached: true, savedAt: 1000, ageMs: 500 }],
    [["live1"], { cached: false, savedAt: 2000, ageMs: 0 }],
    [["live2"], { cached: false, savedAt: 2000, ageMs: 0 }],
  ]);
  assert.deepEqual(storage.saved, [["live1"], ["live2"]]);
});

test("a stored copy that loads after live data arrived is not shown", async () => {
  let release;
  const storage = new MemoryStorage(null);
  storage.load = () => new Promise((resolve) => {
    release = () => resolve({ tuples: ["old"], savedAt: 1, ageMs: 1 });
  });
  const vortex = new FakeVortex();
  const seen = [];
  new TupleDataOfflineObserver(vortex, storage).observe("obs", new TupleSelector("T", {}), (t) =>
    seen.push(t),
  );
  vortex.deliver(["live"]);
  release();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(seen, [["live"]]);
});

// ---- the storage itself, on the in-memory IndexedDB -----------------------------------

function fakeStorage(name, { userId = "u1", budgetBytes = 10_000, indexedDB, clock }) {
  return new TupleOfflineStorage(name, { userId, budgetBytes, indexedDB, now: () => clock.now });
}

const items = (n, size = 100) => [new TupleSelector("Item", { n, text: "x".repeat(size) })];

test("saved tuples load back with their age; other plugins' and users' stores are apart", async () => {
  globalThis.IDBKeyRange = FakeKeyRange;
  const indexedDB = new FakeIndexedDB();
  const clock = { now: 1000 };
  const noop = fakeStorage("noop", { indexedDB, clock });
  const other = fakeStorage("other", { indexedDB, clock });
  const otherUser = fakeStorage("noop", { userId: "u2", indexedDB, clock });
  const selector = new TupleSelector("Item", {});
  assert.deepEqual(await noop.save(selector, items(1)), { stored: true, evicted: 0 });
  clock.now = 61_000;
  const found = await noop.load(selector);
  assert.equal(found.tuples[0].selector.n, 1);
  assert.deepEqual([found.savedAt, found.ageMs], [1000, 60_000]);
  assert.equal(await other.load(selector), null);
  assert.equal(await otherUser.load(selector), null);
  await other.save(selector, items(2));
  await noop.clear();
  assert.equal(await noop.load(selector), null);
  assert.equal((await other.load(selector)).tuples[0].selector.n, 2);
  await other.delete(selector);
  assert.deepEqual(await other.entries(), []);
  assert.deepEqual(indexedDB.names().sort(), ["vortex-tuples:u1", "vortex-tuples:u2"]);
});

test("a save over the budget evicts the least recently used entries of that store", async () => {
  globalThis.IDBKeyRange = FakeKeyRange;
  const indexedDB = new FakeIndexedDB();
  const clock = { now: 0 };
  const storage = fakeStorage("noop", { indexedDB, clock, budgetBytes: 1000 });
  const selector = (n) => new TupleSelector("Item", { n });
  for (const n of [1, 2, 3]) {
    clock.now += 10;
    await storage.save(selector(n), items(n, 100));
  }
  clock.now += 10;
  await storage.load(selector(1));
  clock.now += 10;
  assert.deepEqual(await storage.save(selector(4), items(4, 100)), { stored: true, evicted: 1 });
  const left = (await storage.entries()).map((entry) => JSON.parse(entry.key).selector.n);
  assert.deepEqual(left, [3, 1, 4]);
  assert.ok((await storage.usage()).bytes <= 1000);
  assert.deepEqual(await storage.save(selector(5), items(5, 2000)), { stored: false, evicted: 0 });
});

test("a save the browser refuses (quota) evicts older entries until it fits, or fails", async () => {
  globalThis.IDBKeyRange = FakeKeyRange;
  const indexedDB = new FakeIndexedDB({ quotaBytes: 2500 });
  const clock = { now: 0 };
  const storage = fakeStorage("noop", { indexedDB, clock, budgetBytes: 1_000_000 });
  const selector = (n) => new TupleSelector("Item", { n });
  const results = [];
  for (const n of [1, 2, 3, 4, 5]) {
    clock.now += 10;
    results.push(await storage.save(selector(n), items(n, 300)));
  }
  assert.ok(results.every((result) => result.stored));
  assert.ok(results.some((result) => result.evicted > 0));
  const left = (await storage.entries()).map((entry) => JSON.parse(entry.key).selector.n);
  assert.equal(left.at(-1), 5);
  assert.ok(!left.includes(1));
  await assert.rejects(storage.save(selector(6), items(6, 5000)), /refused to store/);
  assert.equal((await storage.load(selector(5))).tuples[0].selector.n, 5);
});

test("once the user's database is deleted (logout), an open storage neither saves nor finds", async () => {
  globalThis.IDBKeyRange = FakeKeyRange;
  const indexedDB = new FakeIndexedDB();
  const clock = { now: 0 };
  const storage = fakeStorage("noop", { indexedDB, clock });
  const selector = new TupleSelector("Item", {});
  await storage.save(selector, items(1));
  await deleteUserOfflineStorage("u1", indexedDB);
  assert.equal(storage.usable, false);
  assert.deepEqual(await storage.save(selector, items(2)), { stored: false, evicted: 0 });
  assert.equal(await storage.load(selector), null);
  assert.deepEqual(indexedDB.names(), []);
});
