// Bulk data sync on a device (peek_platform/web/assets/app/bulk-sync.mjs) against a fake
// field service (an in-memory index answering the /bulk/ protocol through a fake fetch) and
// the in-memory IndexedDB (fake_indexeddb.mjs). Real IndexedDB and HTTP run in Chromium
// (tests/browser/test_bulk_sync_page.py).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import {
  ChunkedIndexSync,
  bulkDatabaseName,
  deleteUserBulkData,
  syncPlan,
} from "../../peek_platform/web/assets/app/bulk-sync.mjs";
import { FakeIndexedDB, FakeKeyRange } from "./fake_indexeddb.mjs";

const PLUGIN = "peek_plugin_assets";
const INDEX = "assets";

function hashOf(rows) {
  return createHash("sha256").update(JSON.stringify(rows)).digest("hex").slice(0, 16);
}

/**
 * A field service publishing one index: `buckets` is {bucket: {key: row}}. `fetch` answers
 * the /bulk/ protocol and logs every request's path (`requests`); `failFrom` makes the
 * n-th chunk request (0-based) and every later one fail as a dropped network does;
 * `beforeChunk(bucket)` runs before a chunk is answered (to change the data under a sync).
 */
class FakeBulkService {
  constructor(buckets) {
    this.buckets = structuredClone(buckets);
    this.requests = [];
    this.chunkRequests = 0;
    this.failFrom = Infinity;
    this.beforeChunk = () => {};
    this.hashesStatus = 200;
    this.inFlight = 0;
    this.maxInFlight = 0;
    this.fetch = (url, init) => this._answer(url, init);
  }

  hashes() {
    return Object.fromEntries(Object.entries(this.buckets).map(([bucket, rows]) => [bucket, hashOf(rows)]));
  }

  async _answer(url, init) {
    assert.equal(init.credentials, "same-origin");
    const { pathname, searchParams } = new URL(url, "http://device.test");
    this.requests.push(decodeURIComponent(pathname));
    const parts = pathname.split("/").map(decodeURIComponent);
    assert.deepEqual(parts.slice(0, 4), ["", "bulk", PLUGIN, INDEX]);
    if (parts[4] === "hashes") {
      if (this.hashesStatus !== 200) return json(this.hashesStatus, { error: "no such index" });
      return json(200, { index: INDEX, plugin: PLUGIN, chunks: this.hashes() });
    }
    const bucket = parts[5];
    const number = this.chunkRequests;
    this.chunkRequests += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (number >= this.failFrom) throw new TypeError("fetch failed");
      this.beforeChunk(bucket);
      const rows = this.buckets[bucket];
      if (rows === undefined) return json(404, { error: "no such bucket" });
      const hash = hashOf(rows);
      if (searchParams.get("hash") !== hash) return json(409, { error: "the chunk changed" });
      return json(200, { bucket, hash, rows });
    } finally {
      this.inFlight -= 1;
    }
  }

  chunkPaths() {
    return this.requests.filter((path) => path.includes("/chunk/")).map((path) => path.split("/").at(-1));
  }
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** `count` buckets b00.. of `perBucket` rows each, keyed k<bucket>-<n>. */
function dataSet(count, perBucket = 3) {
  const buckets = {};
  for (let b = 0; b < count; b += 1) {
    const bucket = `b${String(b).padStart(2, "0")}`;
    buckets[bucket] = {};
    for (let n = 0; n < perBucket; n += 1) {
      buckets[bucket][`k${bucket}-${n}`] = { name: `row ${bucket}-${n}`, value: b * 100 + n };
    }
  }
  return buckets;
}

function device(service, { indexedDB = new FakeIndexedDB(), userId = "u1", navigator, ...rest } = {}) {
  return new ChunkedIndexSync(PLUGIN, INDEX, {
    userId,
    fetch: service.fetch,
    indexedDB,
    IDBKeyRange: FakeKeyRange,
    navigator: navigator ?? { onLine: true },
    ...rest,
  });
}

test("the plan downloads new and changed buckets and deletes vanished ones", () => {
  const local = new Map([["a", "1"], ["b", "2"], ["gone", "3"]]);
  const remote = new Map([["b", "2"], ["a", "9"], ["new", "4"]]);
  assert.deepEqual(syncPlan(local, remote), { download: ["a", "new"], remove: ["gone"] });
});

test("each user has their own bulk database", () => {
  assert.equal(bulkDatabaseName("u-1"), "peek-bulk:u-1");
  assert.equal(bulkDatabaseName("a b/c"), "peek-bulk:a%20b%2Fc");
  assert.throws(() => bulkDatabaseName(""), TypeError);
  assert.throws(() => new ChunkedIndexSync(PLUGIN, INDEX, {}), TypeError);
  assert.throws(() => new ChunkedIndexSync(PLUGIN, "", { userId: "u" }), TypeError);
});

test("a first sync stores every chunk; rows are found by key and by query", async () => {
  const service = new FakeBulkService(dataSet(6));
  const sync = device(service, { now: () => 5000 });
  const result = await sync.sync();
  assert.equal(result.status, "synced");
  assert.deepEqual([result.done, result.total, result.downloaded, result.rows], [6, 6, 6, 18]);
  assert.equal(result.lastSyncedAt, 5000);
  assert.deepEqual(await sync.get("kb03-1"), { name: "row b03-1", value: 301 });
  assert.equal(await sync.get("no-such-key"), undefined);
  const big = await sync.query((row) => row.value >= 400);
  assert.deepEqual(big.map((row) => row.value), [400, 401, 402, 500, 501, 502]);
  assert.equal((await sync.query(() => true, { limit: 4 })).length, 4);
  assert.deepEqual(await sync.info(), { lastSyncedAt: 5000, chunks: 6, rows: 18 });
});

test("a second sync downloads only the chunks whose hash changed", async () => {
  const service = new FakeBulkService(dataSet(10));
  const sync = device(service);
  await sync.sync();
  service.requests = [];
  service.buckets.b04["kb04-1"].value = -1;
  service.buckets.b07["kb07-new"] = { name: "added", value: 7 };
  const result = await sync.sync();
  assert.equal(result.status, "synced");
  assert.deepEqual(service.chunkPaths(), ["b04", "b07"]);
  assert.deepEqual([result.downloaded, result.done, result.total, result.rows], [2, 10, 10, 31]);
  assert.equal((await sync.get("kb04-1")).value, -1);
  assert.equal((await sync.get("kb07-new")).name, "added");

  service.requests = [];
  assert.equal((await sync.sync()).downloaded, 0);
  assert.deepEqual(service.requests, [`/bulk/${PLUGIN}/${INDEX}/hashes`]);
});

test("a row removed from a chunk is gone from the local copy", async () => {
  const service = new FakeBulkService(dataSet(3));
  const sync = device(service);
  await sync.sync();
  delete service.buckets.b01["kb01-0"];
  await sync.sync();
  assert.equal(await sync.get("kb01-0"), undefined);
  assert.equal((await sync.info()).rows, 8);
});

test("a sync interrupted by the network resumes without downloading saved chunks again", async () => {
  const service = new FakeBulkService(dataSet(12));
  const indexedDB = new FakeIndexedDB();
  const first = device(service, { indexedDB, concurrency: 4 });
  service.failFrom = 5; // the network drops during the sixth chunk request
  const interrupted = await first.sync();
  assert.equal(interrupted.status, "offline");
  assert.match(interrupted.reason, /cannot be reached/);
  const saved = (await first.info()).chunks;
  // The five answered before the drop are kept; the drop stops new requests.
  assert.equal(saved, 5);
  assert.equal(interrupted.lastSyncedAt, null);
  const fetchedBefore = service.chunkPaths();

  service.failFrom = Infinity;
  service.requests = [];
  const again = device(service, { indexedDB }); // as after a reload
  const result = await again.sync();
  assert.equal(result.status, "synced");
  assert.equal(result.downloaded, 12 - saved);
  const savedBuckets = fetchedBefore.slice(0, saved);
  assert.deepEqual(service.chunkPaths().filter((bucket) => savedBuckets.includes(bucket)), []);
  assert.deepEqual((await again.info()).chunks, 12);
  assert.equal((await again.query()).length, 36);
});

test("a bucket the service no longer has is deleted with its rows", async () => {
  const service = new FakeBulkService(dataSet(4));
  const sync = device(service);
  await sync.sync();
  delete service.buckets.b02;
  const result = await sync.sync();
  assert.equal(result.status, "synced");
  assert.deepEqual([result.deleted, result.downloaded, result.total, result.rows], [1, 0, 3, 9]);
  assert.equal(await sync.get("kb02-0"), undefined);
  assert.deepEqual((await sync.query((row, key) => key.startsWith("kb02"))), []);
  assert.equal((await sync.info()).chunks, 3);
});

test("a chunk that changed after the hashes were read (409) is fetched again with its new hash", async () => {
  const service = new FakeBulkService(dataSet(5));
  const sync = device(service);
  let changed = false;
  service.beforeChunk = (bucket) => {
    if (bucket === "b03" && !changed) {
      changed = true;
      service.buckets.b03["kb03-0"].value = 999; // recompiled by the service meanwhile
    }
  };
  const result = await sync.sync();
  assert.equal(result.status, "synced");
  const hashesPath = `/bulk/${PLUGIN}/${INDEX}/hashes`;
  assert.equal(service.requests.filter((path) => path === hashesPath).length, 2);
  assert.deepEqual(service.chunkPaths().filter((bucket) => bucket === "b03").length, 2);
  assert.equal(service.chunkPaths().length, 6);
  assert.equal((await sync.get("kb03-0")).value, 999);
  assert.deepEqual([result.done, result.total], [5, 5]);
});

test("a chunk deleted after the hashes were read (404) makes the sync read them again", async () => {
  const service = new FakeBulkService(dataSet(3));
  const sync = device(service);
  service.beforeChunk = (bucket) => {
    if (bucket === "b01") delete service.buckets.b01;
  };
  const result = await sync.sync();
  assert.equal(result.status, "synced");
  assert.deepEqual([result.total, result.rows], [2, 6]);
  assert.equal(await sync.get("kb01-0"), undefined);
});

test("an index that keeps changing ends the sync with an error after maxRounds", async () => {
  const service = new FakeBulkService(dataSet(2));
  const sync = device(service, { maxRounds: 3 });
  let n = 0;
  service.beforeChunk = (bucket) => {
    n += 1;
    service.buckets[bucket][`extra-${n}`] = { n };
  };
  const result = await sync.sync();
  assert.equal(result.status, "error");
  assert.match(result.reason, /kept changing during 3 rounds/);
  assert.equal(service.requests.filter((path) => path.endsWith("/hashes")).length, 3);
});

test("progress reports done/total chunks, rows and bytes as each chunk is saved", async () => {
  const service = new FakeBulkService(dataSet(4));
  const sync = device(service, { concurrency: 1 });
  const seen = [];
  const global = [];
  sync.onProgress((state) => global.push(state.status));
  let bodyBytes = 0;
  const fetch = service.fetch;
  service.fetch = async (url, init) => {
    const response = await fetch(url, init);
    bodyBytes += (await response.clone().arrayBuffer()).byteLength;
    return response;
  };
  sync._fetch = service.fetch;
  const result = await sync.sync({ onProgress: (state) => seen.push(state) });
  const syncing = seen.filter((state) => state.status === "syncing");
  assert.deepEqual(syncing.map((state) => state.done), [0, 0, 1, 2, 3, 4]);
  assert.ok(syncing.every((state) => state.total === 4 || state.total === 0));
  assert.deepEqual(syncing.map((state) => state.rows), [0, 0, 3, 6, 9, 12]);
  const bytes = syncing.map((state) => state.bytes);
  assert.deepEqual([...bytes].sort((a, b) => a - b), bytes);
  assert.equal(seen.at(-1).status, "synced");
  assert.equal(result.bytes, bodyBytes);
  assert.deepEqual(global, seen.map((state) => state.status));
  assert.equal(sync.state.status, "synced");

  // A later sync starts from the kept copy: its rows and when it last synced.
  const later = [];
  await sync.sync({ onProgress: (state) => later.push(state) });
  assert.deepEqual([later[0].status, later[0].rows], ["syncing", 12]);
  assert.equal(later[0].lastSyncedAt, result.lastSyncedAt);
  assert.notEqual(result.lastSyncedAt, null);
});

test("chunks download a few at a time, never more than the concurrency", async () => {
  const service = new FakeBulkService(dataSet(20, 1));
  const sync = device(service, { concurrency: 3 });
  assert.equal((await sync.sync()).downloaded, 20);
  assert.equal(service.maxInFlight, 3);
});

test("offline, a sync fails at once and the local copy still answers queries", async () => {
  const service = new FakeBulkService(dataSet(3));
  const navigator = { onLine: true };
  const sync = device(service, { navigator, now: () => 42 });
  await sync.sync();
  navigator.onLine = false;
  service.requests = [];
  const result = await sync.sync();
  assert.equal(result.status, "offline");
  assert.equal(result.reason, "this device is offline");
  assert.deepEqual(service.requests, []);
  assert.deepEqual([result.rows, result.lastSyncedAt], [9, 42]);
  assert.equal((await sync.get("kb02-2")).value, 202);
  assert.equal((await sync.query((row) => row.value < 100)).length, 3);
});

test("a network that is down (the request fails) gives the offline status too", async () => {
  const service = new FakeBulkService(dataSet(2));
  const sync = device(service, {
    fetch: () => Promise.reject(new TypeError("Failed to fetch")),
  });
  const result = await sync.sync();
  assert.equal(result.status, "offline");
  assert.match(result.reason, /Failed to fetch/);
  assert.deepEqual(await sync.query(), []);
});

test("an index the plugin does not publish (404) says not-published; a lost login says so", async () => {
  const service = new FakeBulkService(dataSet(2));
  const sync = device(service);
  service.hashesStatus = 404;
  assert.equal((await sync.sync()).status, "not-published");
  service.hashesStatus = 401;
  assert.equal((await sync.sync()).status, "login-required");
  service.hashesStatus = 500;
  const failed = await sync.sync();
  assert.equal(failed.status, "error");
  assert.match(failed.reason, /answered 500: no such index/);
});

test("logout deletes the user's bulk data; an open copy stops saving and finds nothing", async () => {
  const service = new FakeBulkService(dataSet(2));
  const indexedDB = new FakeIndexedDB();
  const mine = device(service, { indexedDB });
  const theirs = device(service, { indexedDB, userId: "u2" });
  await mine.sync();
  await theirs.sync();
  assert.deepEqual(indexedDB.names().sort(), ["peek-bulk:u1", "peek-bulk:u2"]);
  await deleteUserBulkData("u1", indexedDB);
  assert.equal(mine.usable, false);
  assert.equal(await mine.get("kb00-0"), undefined);
  assert.equal((await mine.sync()).status, "signed-out");
  assert.deepEqual(indexedDB.names(), ["peek-bulk:u2"]);
  assert.equal((await theirs.get("kb00-0")).value, 0);
});

test("the copy of one index is apart from another index's and can be cleared", async () => {
  const service = new FakeBulkService(dataSet(2));
  const indexedDB = new FakeIndexedDB();
  const sync = device(service, { indexedDB });
  await sync.sync();
  const other = new ChunkedIndexSync(PLUGIN, `${INDEX}-other`, {
    userId: "u1",
    indexedDB,
    IDBKeyRange: FakeKeyRange,
  });
  assert.deepEqual(await other.info(), { lastSyncedAt: null, chunks: 0, rows: 0 });
  assert.equal(await other.get("kb00-0"), undefined);
  await sync.clear();
  assert.deepEqual(await sync.info(), { lastSyncedAt: null, chunks: 0, rows: 0 });
});

test("a sync asked for while one runs runs once more afterwards, not twice at once", async () => {
  const service = new FakeBulkService(dataSet(3));
  const sync = device(service);
  const first = sync.sync();
  const second = sync.sync();
  const third = sync.sync();
  assert.equal(second, third);
  const results = await Promise.all([first, second]);
  assert.deepEqual(results.map((result) => result.downloaded), [3, 0]);
  assert.equal(service.requests.filter((path) => path.endsWith("/hashes")).length, 2);
});

test("following the link syncs each time it comes up, not while it stays up", async () => {
  const service = new FakeBulkService(dataSet(2));
  const sync = device(service);
  const link = {
    listener: null,
    onStatus(listener) {
      this.listener = listener;
      listener({ online: false, status: "offline" });
      return () => {
        this.listener = null;
      };
    },
  };
  const results = [];
  sync.onProgress((state) => {
    if (state.status !== "syncing") results.push(state.status);
  });
  const stop = sync.followLink(link);
  assert.deepEqual(service.requests, []);
  link.listener({ online: true, status: "online" });
  link.listener({ online: true, status: "online" });
  await sync._running;
  assert.deepEqual(results, ["synced"]);
  link.listener({ online: false, status: "offline" });
  service.buckets.b00["kb00-0"].value = 5;
  link.listener({ online: true, status: "online" });
  await sync._running;
  assert.deepEqual(results, ["synced", "synced"]);
  assert.equal((await sync.get("kb00-0")).value, 5);
  stop();
  assert.equal(link.listener, null);
});

test("following the link with an interval syncs on each tick while linked, not while down", async () => {
  const service = new FakeBulkService(dataSet(1));
  const sync = device(service);
  const timers = {
    ticks: new Map(),
    setInterval(fn, ms) {
      assert.equal(ms, 60_000);
      const id = this.ticks.size + 1;
      this.ticks.set(id, fn);
      return id;
    },
    clearInterval(id) {
      this.ticks.delete(id);
    },
  };
  let listener = null;
  const link = {
    onStatus(fn) {
      listener = fn;
      fn({ online: true });
      return () => {};
    },
  };
  const hashReads = () => service.requests.filter((path) => path.endsWith("/hashes")).length;
  const stop = sync.followLink(link, { intervalMs: 60_000, timers });
  await sync._running;
  assert.equal(hashReads(), 1);
  assert.equal(timers.ticks.size, 1);
  const [tick] = timers.ticks.values();
  tick();
  await sync._running;
  assert.equal(hashReads(), 2);
  listener({ online: false });
  assert.equal(timers.ticks.size, 0);
  listener({ online: true });
  await sync._running;
  assert.equal(hashReads(), 3);
  stop();
  assert.equal(timers.ticks.size, 0);
});
