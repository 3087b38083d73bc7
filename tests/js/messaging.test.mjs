// Observables, actions and RPC calls against the real Python vortex test server.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  MemoryQueueStore,
  Tuple,
  TupleGenericAction,
  TupleSelector,
  VortexClient,
  VortexNotConnectedError,
  VortexRemoteError,
  defaultTupleRegistry,
} from "../../vortex/js/index.js";
import { TestServer, waitFor } from "./helpers.mjs";

class JsTestItem extends Tuple {
  static tupleType = "jstest.Item";
  static tupleFields = { id: null, name: null, value: null, when: null, extra: () => ({}) };
}

const registry = defaultTupleRegistry.copy();
registry.register(JsTestItem);
const FILT = { plugin: "jstest" };
const server = new TestServer();
let vortex;

function add(group, name) {
  const action = new TupleGenericAction({ key: "add", data: { group, name } });
  return vortex.pushAction("jstest.actions", action, { additionalFilt: FILT });
}

before(async () => {
  await server.start();
  vortex = new VortexClient({
    url: server.url,
    vortexName: "peek-field-app",
    registry,
    offlineStore: new MemoryQueueStore(),
  });
  await waitFor(() => vortex.isOnline, "the client to connect");
});

after(async () => {
  vortex.close();
  await server.stop();
});

test("the client links as a device and reports the server's identity", () => {
  const statuses = [];
  vortex.onStatus((status) => statuses.push(status))();
  assert.equal(statuses.length, 1);
  assert.equal(statuses[0].status, "online");
  assert.equal(statuses[0].server.vortexName, "jstest-server");
});

test("observe gets the current data, then every update", async () => {
  const seen = [];
  const stop = vortex.observe(
    "jstest.observable",
    new TupleSelector("jstest.Item", { group: "observe" }),
    (tuples) => seen.push(tuples.map((item) => item.name)),
    { additionalFilt: FILT },
  );
  await waitFor(() => seen.length === 1, "the initial data");
  assert.deepEqual(seen, [[]]);
  await add("observe", "first");
  await waitFor(() => seen.length === 2, "the first update");
  await add("observe", "second");
  await waitFor(() => seen.length === 3, "the second update");
  assert.deepEqual(seen, [[], ["first"], ["first", "second"]]);
  stop();
});

test("a second observer of the same selector gets the last data at once", async () => {
  const selector = new TupleSelector("jstest.Item", { group: "shared" });
  await add("shared", "x");
  const first = [];
  const stopFirst = vortex.observe("jstest.observable", selector, (t) => first.push(t), { additionalFilt: FILT });
  await waitFor(() => first.length === 1, "the first observer's data");
  const second = [];
  const stopSecond = vortex.observe("jstest.observable", selector, (t) => second.push(t), { additionalFilt: FILT });
  await waitFor(() => second.length === 1, "the second observer's data");
  assert.ok(second[0][0] instanceof JsTestItem);
  assert.equal(second[0][0].name, "x");
  stopFirst();
  stopSecond();
});

test("observing a tuple without a provider reports an unknown-tuple error", async () => {
  const errors = [];
  const stop = vortex.observe("jstest.observable", new TupleSelector("jstest.Nothing", {}), () => {}, {
    additionalFilt: FILT,
    onError: (e) => errors.push(e),
  });
  await waitFor(() => errors.length === 1, "the error answer");
  assert.ok(errors[0] instanceof VortexRemoteError);
  assert.equal(errors[0].code, "unknown-tuple");
  stop();
});

test("poll gets the current data once", async () => {
  await add("poll", "p");
  const tuples = await vortex.poll("jstest.observable", new TupleSelector("jstest.Item", { group: "poll" }), {
    additionalFilt: FILT,
  });
  assert.deepEqual(tuples.map((item) => item.name), ["p"]);
});

test("pushAction resolves with the processor's result tuples", async () => {
  const action = new TupleGenericAction({ key: "echo", data: { n: 5n ** 30n } });
  const [result] = await vortex.pushAction("jstest.actions", action, { additionalFilt: FILT });
  assert.ok(result instanceof JsTestItem);
  assert.equal(result.extra.uuid, action.uuid);
  assert.equal(result.extra.data.n, 5n ** 30n);
});

test("an action answered with an error rejects with the remote error", async () => {
  const action = new TupleGenericAction({ key: "fail", data: "please" });
  await assert.rejects(vortex.pushAction("jstest.actions", action, { additionalFilt: FILT }), (e) => {
    assert.ok(e instanceof VortexRemoteError);
    assert.equal(e.code, "exception");
    assert.equal(e.remoteType, "ValueError");
    assert.match(e.remoteMessage, /asked to fail: 'please'/);
    return true;
  });
});

test("call runs the RPC and resolves with its return value", async () => {
  const rpcName = server.info.rpc.addInts;
  const value = await vortex.call(rpcName, [5, 6], { kwargs: { kwval: 7 }, additionalFilt: FILT });
  assert.equal(value, 18);
});

test("an RPC that raises rejects with the remote exception's type and message", async () => {
  await assert.rejects(vortex.call(server.info.rpc.fails, [], { additionalFilt: FILT }), (e) => {
    assert.ok(e instanceof VortexRemoteError);
    assert.equal(e.remoteType, "KeyError");
    assert.match(e.remoteMessage, /no such thing/);
    return true;
  });
});

test("a call without a listening RPC times out", async () => {
  await assert.rejects(
    vortex.call("nobody.listens", [], { additionalFilt: FILT, timeoutMs: 200 }),
    { name: "VortexTimeoutError" },
  );
});

test("requests fail at once while the client is not connected", async () => {
  const offline = new VortexClient({
    url: server.url,
    vortexName: "peek-field-app",
    autoStart: false,
    offlineStore: new MemoryQueueStore(),
  });
  await assert.rejects(offline.call(server.info.rpc.addInts, [1, 2]), VortexNotConnectedError);
  await assert.rejects(
    offline.pushAction("jstest.actions", new TupleGenericAction({ key: "echo" })),
    VortexNotConnectedError,
  );
  offline.close();
});
