// The device link: handshake refusal, heartbeats, dead-peer detection, reconnect, backoff.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  Backoff,
  MemoryQueueStore,
  Tuple,
  TupleGenericAction,
  TupleSelector,
  VortexClient,
  VortexTransport,
  defaultTupleRegistry,
  resolveVortexUrl,
} from "../../vortex/js/index.js";
import { TestServer, sleep, waitFor } from "./helpers.mjs";

class JsTestItem extends Tuple {
  static tupleType = "jstest.Item";
  static tupleFields = { id: null, name: null, value: null, when: null, extra: () => ({}) };
}

const registry = defaultTupleRegistry.copy();
registry.register(JsTestItem);
const FILT = { plugin: "jstest" };
const FAST_BACKOFF = { initialMs: 50, capMs: 200 };

function client(server, options = {}) {
  return new VortexClient({
    url: server.url,
    vortexName: "peek-field-app",
    registry,
    offlineStore: new MemoryQueueStore(),
    backoff: FAST_BACKOFF,
    ...options,
  });
}

function recordStatuses(vortex) {
  const statuses = [];
  vortex.onStatus((status) => statuses.push(status));
  return statuses;
}

test("heartbeats keep an idle link open past the server's dead-peer limit", async () => {
  const server = new TestServer({ extraArgs: ["--heartbeat", "0.1"] });
  await server.start();
  const vortex = client(server, { heartbeatMs: 100 });
  try {
    const statuses = recordStatuses(vortex);
    await waitFor(() => vortex.isOnline, "the link");
    await sleep(1000);
    assert.deepEqual(statuses.map((s) => s.status), ["offline", "online"]);
  } finally {
    vortex.close();
    await server.stop();
  }
});

for (const { serverSeconds, clientMs, judge } of [
  { serverSeconds: 0.5, clientMs: 100, judge: "the client judges the server by its 500 ms" },
  { serverSeconds: 0.1, clientMs: 500, judge: "the server judges the client by its 500 ms" },
]) {
  test(`a ${clientMs} ms client and a ${serverSeconds} s server stay linked: ${judge}`, async () => {
    const server = new TestServer({ extraArgs: ["--heartbeat", String(serverSeconds)] });
    await server.start();
    const vortex = client(server, { heartbeatMs: clientMs });
    try {
      const statuses = recordStatuses(vortex);
      await waitFor(() => vortex.isOnline, "the link");
      await sleep(1500);
      assert.deepEqual(statuses.map((s) => s.status), ["offline", "online"]);
    } finally {
      vortex.close();
      await server.stop();
    }
  });
}

/** A WebSocket stand-in that records what is sent and lets the test play the server. */
class ScriptedSocket {
  static last = null;

  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closedWith = null;
    ScriptedSocket.last = this;
  }

  send(bytes) {
    this.sent.push(JSON.parse(new TextDecoder().decode(bytes)));
  }

  close(code, reason) {
    this.closedWith = { code, reason };
  }

  receive(message) {
    this.onmessage({ data: new TextEncoder().encode(JSON.stringify(message)).buffer });
  }
}

/** Timers that never fire on their own, so a test sees only what the handshake does. */
const idleTimers = { setTimeout: () => 1, clearTimeout: () => {} };

test("the hello announces the client's interval and a bad server interval is refused", () => {
  const reasons = [];
  const transport = new VortexTransport({
    url: "ws://127.0.0.1:1/vortexws",
    vortexName: "peek-field-app",
    onOpen: () => reasons.push("opened"),
    onClose: (reason) => reasons.push(reason),
    onMessage: () => {},
    WebSocketImpl: ScriptedSocket,
    heartbeatMs: 250,
    timers: idleTimers,
  });
  transport.start();
  const socket = ScriptedSocket.last;
  socket.onopen();
  assert.equal(socket.sent[0].type, "hello");
  assert.equal(socket.sent[0].heartbeatSeconds, 0.25);
  socket.receive({
    type: "welcome",
    protocol: 1,
    role: "device",
    vortexName: "s",
    vortexUuid: "su",
    heartbeatSeconds: 0.01,
  });
  transport.stop();
  assert.equal(socket.closedWith.code, 4001);
  assert.deepEqual(reasons, [
    "closed by this side (code 4001): 'welcome' has an invalid 'heartbeatSeconds': 0.01" +
      " (must be a number of seconds from 0.1 to 300)",
  ]);
});

test("a heartbeat interval the server would refuse is refused up front", () => {
  for (const heartbeatMs of [50, 300_001, Number.NaN]) {
    const options = { url: "ws://127.0.0.1:1/vortexws", vortexName: "a", heartbeatMs };
    assert.throws(
      () => new VortexTransport({ ...options, WebSocketImpl: ScriptedSocket }),
      /heartbeatMs .* is not valid: use 100 to 300000 ms/,
    );
  }
});

test("a silent server is declared dead and the client reconnects once it answers", async () => {
  const server = new TestServer({ extraArgs: ["--heartbeat", "0.1"] });
  await server.start();
  const vortex = client(server, { heartbeatMs: 100 });
  try {
    const statuses = recordStatuses(vortex);
    await waitFor(() => vortex.isOnline, "the link");
    server.freeze(true);
    await waitFor(() => !vortex.isOnline, "the dead server to be noticed");
    assert.match(statuses.at(-1).reason, /code 4005\): server silent for 3 heartbeat intervals/);
    server.freeze(false);
    await waitFor(() => vortex.isOnline, "the reconnect");
  } finally {
    vortex.close();
    await server.stop();
  }
});

test("after the server restarts on its port the client reconnects and resubscribes", async () => {
  const server = new TestServer();
  await server.start();
  const vortex = client(server);
  try {
    const seen = [];
    vortex.observe(
      "jstest.observable",
      new TupleSelector("jstest.Item", { group: "g" }),
      (tuples) => seen.push(tuples.map((item) => item.name)),
      { additionalFilt: FILT },
    );
    await waitFor(() => seen.length === 1, "the initial data");
    const add = (name) =>
      vortex.pushAction("jstest.actions", new TupleGenericAction({ key: "add", data: { group: "g", name } }), {
        additionalFilt: FILT,
      });
    await add("before");
    await waitFor(() => seen.length === 2, "the update");
    await server.stop();
    await waitFor(() => !vortex.isOnline, "the link to drop");
    await server.start();
    await waitFor(() => seen.length === 3, "the data after resubscribing");
    await add("after");
    await waitFor(() => seen.length === 4, "an update after the restart");
    assert.deepEqual(seen, [[], ["before"], [], ["after"]]);
  } finally {
    vortex.close();
    await server.stop();
  }
});

test("a server that refuses devices is reported offline with the close code, and retried", async () => {
  const server = new TestServer({ extraArgs: ["--no-devices"] });
  await server.start();
  const vortex = client(server);
  try {
    const statuses = recordStatuses(vortex);
    await waitFor(() => statuses.length >= 3, "two refused attempts");
    assert.ok(statuses.slice(1).every((s) => s.status === "offline"));
    assert.match(statuses[1].reason, /code 4003: device connections are not allowed/);
  } finally {
    vortex.close();
    await server.stop();
  }
});

test("a link refused for want of a login reports login-required and is not retried", async () => {
  const server = new TestServer({ extraArgs: ["--login-required"] });
  await server.start();
  const vortex = client(server);
  try {
    const statuses = recordStatuses(vortex);
    await waitFor(() => statuses.length >= 2, "the refused attempt");
    assert.equal(statuses[1].status, "login-required");
    assert.equal(statuses[1].online, false);
    assert.match(statuses[1].reason, /code 4010: log in first/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(statuses.length, 2, "no further attempt after 4010");
  } finally {
    vortex.close();
    await server.stop();
  }
});

test("the default backoff waits at most 2 s however long the server was down", () => {
  const backoff = new Backoff({ random: () => 1 });
  const delays = Array.from({ length: 50 }, () => backoff.nextDelayMs());
  assert.deepEqual(delays.slice(0, 3), [500, 1000, 2000]);
  assert.equal(Math.max(...delays), 2000);
});

test("backoff delays are full-jitter under a capped exponential ceiling and reset", () => {
  let next = 1;
  const backoff = new Backoff({ initialMs: 500, capMs: 10_000, random: () => next });
  const ceilings = Array.from({ length: 7 }, () => backoff.nextDelayMs());
  assert.deepEqual(ceilings, [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  next = 0;
  assert.equal(backoff.nextDelayMs(), 0);
  backoff.reset();
  next = 0.5;
  assert.equal(backoff.nextDelayMs(), 250);
  assert.throws(() => new Backoff({ initialMs: 0 }), RangeError);
});

test("a relative vortex URL is resolved against the page and mapped to ws or wss", () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, "location");
  try {
    globalThis.location = { href: "https://field.example:8000/peek_plugin_x/index.html" };
    assert.equal(resolveVortexUrl("/vortexws"), "wss://field.example:8000/vortexws");
    globalThis.location = { href: "http://10.0.0.1:8000/" };
    assert.equal(resolveVortexUrl("/vortexws"), "ws://10.0.0.1:8000/vortexws");
  } finally {
    if (saved === undefined) delete globalThis.location;
    else Object.defineProperty(globalThis, "location", saved);
  }
});
