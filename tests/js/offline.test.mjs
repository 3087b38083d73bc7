// The offline action queue: persisted, ordered, retried until answered, settled once.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import {
  Backoff,
  LocalStorageQueueStore,
  MemoryQueueStore,
  OfflineActionQueue,
  TupleGenericAction,
  VortexClient,
  VortexNotConnectedError,
  VortexRemoteError,
} from "../../vortex/js/index.js";
import { TestServer, waitFor } from "./helpers.mjs";

const FILT = { plugin: "jstest" };

/** A stopped server that has a port (so clients can point at it before it runs). */
async function downServer() {
  const log = join(mkdtempSync(join(tmpdir(), "vortex-js-")), "actions.log");
  const server = new TestServer({ extraArgs: ["--action-log", log] });
  await server.start();
  await server.stop();
  return { server, log };
}

function processedUuids(log) {
  return existsSync(log) ? readFileSync(log, "utf-8").split("\n").filter(Boolean) : [];
}

function client(server, store) {
  return new VortexClient({
    url: server.url,
    vortexName: "peek-field-app",
    offlineStore: store,
    backoff: { initialMs: 50, capMs: 200 },
  });
}

test("actions pushed while the server is down are delivered in order and answered once each", async () => {
  const { server, log } = await downServer();
  const store = new MemoryQueueStore();
  const vortex = client(server, store);
  try {
    const actions = [1, 2, 3].map((n) => new TupleGenericAction({ key: "echo", data: { n } }));
    const settled = actions.map(() => 0);
    const answers = actions.map((action, i) =>
      vortex.pushAction("jstest.actions", action, { additionalFilt: FILT, offline: true }).then((tuples) => {
        settled[i] += 1;
        return tuples;
      }),
    );
    await waitFor(async () => (await store.list()).length === 3, "the actions to be stored");
    await server.start();
    const results = await Promise.all(answers);
    assert.deepEqual(results.map(([echo]) => echo.extra.data.n), [1, 2, 3]);
    assert.deepEqual(processedUuids(log), actions.map((action) => action.uuid));
    assert.deepEqual(settled, [1, 1, 1]);
    assert.deepEqual(await store.list(), []);
  } finally {
    vortex.close();
    await server.stop();
  }
});

test("a stored queue survives re-creating the client and reports to the result handler", async () => {
  const { server, log } = await downServer();
  const store = new MemoryQueueStore();
  const before = client(server, store);
  const echo = new TupleGenericAction({ key: "echo", data: "kept" });
  const failing = new TupleGenericAction({ key: "fail", data: "once" });
  before.pushAction("jstest.actions", echo, { additionalFilt: FILT, offline: true });
  before.pushAction("jstest.actions", failing, { additionalFilt: FILT, offline: true });
  await waitFor(async () => (await store.list()).length === 2, "the actions to be stored");
  before.close();

  const after = client(server, store);
  try {
    await after.queueReady;
    assert.equal(after.queuedActionCount, 2);
    const results = [];
    after.onQueuedActionResult((result) => results.push(result));
    await server.start();
    await waitFor(() => results.length === 2, "both stored actions to be answered");
    assert.deepEqual(results.map((r) => r.action.uuid), [echo.uuid, failing.uuid]);
    assert.equal(results[0].error, null);
    assert.equal(results[0].tuples[0].extra.data, "kept");
    assert.ok(results[1].error instanceof VortexRemoteError);
    assert.equal(results[1].error.remoteType, "ValueError");
    assert.deepEqual(processedUuids(log), [echo.uuid, failing.uuid]);
    assert.deepEqual(await store.list(), []);
  } finally {
    after.close();
    await server.stop();
  }
});

test("an offline push answered with an error rejects once and is not pushed again", async () => {
  const { server, log } = await downServer();
  await server.start();
  const vortex = client(server, new MemoryQueueStore());
  try {
    await waitFor(() => vortex.isOnline, "the link");
    const action = new TupleGenericAction({ key: "fail", data: 1 });
    await assert.rejects(
      vortex.pushAction("jstest.actions", action, { additionalFilt: FILT, offline: true }),
      (e) => e instanceof VortexRemoteError && e.code === "exception",
    );
    const marker = new TupleGenericAction({ key: "echo" });
    await vortex.pushAction("jstest.actions", marker, { additionalFilt: FILT, offline: true });
    assert.deepEqual(processedUuids(log), [action.uuid, marker.uuid]);
  } finally {
    vortex.close();
    await server.stop();
  }
});

test("the queue retries after a lost link and a not-connected answer, then settles once", async () => {
  const answers = [
    () => Promise.reject(new VortexNotConnectedError("link lost")),
    () => Promise.resolve({ error: { code: "not-connected" }, tuples: [] }),
    () => Promise.resolve({ error: null, tuples: ["done"] }),
  ];
  const sent = [];
  let online = true;
  const queue = new OfflineActionQueue({
    store: new MemoryQueueStore(),
    send: (entry) => {
      sent.push(entry.id);
      return answers[sent.length - 1]();
    },
    isOnline: () => online,
    onError: (e) => assert.fail(e),
    backoff: new Backoff({ initialMs: 1, capMs: 1 }),
  });
  await queue.ready;
  const answer = queue.add({ actionProcessorName: "p", filtText: "{}", bodyText: "{}" });
  await waitFor(() => sent.length === 1, "the first push");
  online = false;
  await waitFor(() => !queue._pumping, "the queue to pause");
  online = true;
  queue.kick();
  assert.deepEqual(await answer, { error: null, tuples: ["done"] });
  assert.equal(sent.length, 3);
  assert.equal(new Set(sent).size, 1);
  assert.equal(queue.size, 0);
});

test("an offline push answered retry-later is pushed again until it succeeds, answered once", async () => {
  const { server, log } = await downServer();
  await server.start();
  const store = new MemoryQueueStore();
  const vortex = new VortexClient({
    url: server.url,
    vortexName: "peek-field-app",
    offlineStore: store,
    queueBackoff: { initialMs: 1, capMs: 5 },
  });
  try {
    await waitFor(() => vortex.isOnline, "the link");
    const action = new TupleGenericAction({ key: "busy", data: { times: 2 } });
    let settled = 0;
    const tuples = await vortex
      .pushAction("jstest.actions", action, { additionalFilt: FILT, offline: true })
      .finally(() => {
        settled += 1;
      });
    assert.equal(tuples[0].extra.uuid, action.uuid);
    // Refused twice, then applied: three pushes of the same action, one answer.
    assert.deepEqual(processedUuids(log), [action.uuid, action.uuid, action.uuid]);
    assert.equal(settled, 1);
    assert.deepEqual(await store.list(), []);
  } finally {
    vortex.close();
    await server.stop();
  }
});

test("the localStorage store keeps entries in order across instances", async () => {
  const data = new Map();
  const storage = {
    getItem: (key) => (data.has(key) ? data.get(key) : null),
    setItem: (key, value) => data.set(key, String(value)),
  };
  const first = new LocalStorageQueueStore("q", storage);
  await first.put({ id: "b", seq: 2 });
  await first.put({ id: "a", seq: 1 });
  await first.put({ id: "c", seq: 3 });
  await first.delete("b");
  const second = new LocalStorageQueueStore("q", storage);
  assert.deepEqual((await second.list()).map((e) => e.id), ["a", "c"]);
});
