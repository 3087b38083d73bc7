// Large messages on a device link: chunk frames both ways, the reassembly bounds, priority
// sends overtaking a bulk transfer, and compression, against the real Python server.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import {
  CHUNK_HEADER_BYTES,
  ChunkFrameError,
  Reassembler,
  ReassemblyBudget,
  SendQueue,
  chunkFrames,
} from "../../vortex/js/chunking.js";
import {
  ChunkedMessageRefusedError,
  TupleGenericAction,
  TupleSelector,
  VortexTransport,
} from "../../vortex/js/index.js";
import { JSTEST_FILT as FILT, JsTestItem, TestServer, testClient as client, waitFor } from "./helpers.mjs";

const MIB = 1024 * 1024;

function bytesOf(text) {
  return new TextEncoder().encode(text);
}

function sha256(text) {
  return createHash("sha256").update(text).digest("hex");
}

// ---- the format, without a socket ------------------------------------------------------

test("chunk frames carry the marker, id and total, and reassemble to the same bytes", () => {
  const data = bytesOf(`{${"x".repeat(249)}`);
  const frames = [...chunkFrames(0x01020304, data, 100)];
  assert.equal(frames.length, 3);
  for (const frame of frames) {
    assert.deepEqual([...frame.subarray(0, 9)], [0, 1, 2, 3, 4, 0, 0, 0, 250]);
  }
  const reassembler = new Reassembler({ maxBytes: 1000, describe: () => "l", onRefused: () => {} });
  assert.equal(reassembler.receive(frames[0]), null);
  assert.equal(reassembler.heldBytes, 250);
  assert.equal(reassembler.receive(frames[1]), null);
  assert.deepEqual(reassembler.receive(frames[2]), data);
  assert.equal(reassembler.heldBytes, 0);
});

test("the JS frames are byte for byte the Python ones", () => {
  // The Python test test_frames_carry_marker_id_total_and_slices_in_order checks the same.
  const [frame] = chunkFrames(7, bytesOf("{}"), 256 * 1024);
  assert.deepEqual([...frame], [0, 0, 0, 0, 7, 0, 0, 0, 2, 123, 125]);
  assert.equal(CHUNK_HEADER_BYTES, 9);
});

test("a message over the link's or the page's bound is refused and the next one arrives", () => {
  const budget = new ReassemblyBudget(1500);
  const refused = [];
  const make = (name) =>
    new Reassembler({ maxBytes: 1000, budget, describe: () => name, onRefused: (e) => refused.push(e) });
  const one = make("to ws://one");
  const two = make("to ws://two");
  const big = bytesOf(`{${"b".repeat(1199)}`);
  for (const frame of chunkFrames(1, big, 400)) assert.equal(one.receive(frame), null);
  assert.match(refused[0].message, /to ws:\/\/one: dropped a chunked message of 1200 bytes: it exceeds the bound of 1000 bytes per link/);
  assert.ok(refused[0] instanceof ChunkedMessageRefusedError);
  const fits = bytesOf(`{${"f".repeat(899)}`);
  const framesOne = [...chunkFrames(2, fits, 400)];
  const framesTwo = [...chunkFrames(2, fits, 400)];
  one.receive(framesOne[0]);
  two.receive(framesTwo[0]);
  assert.match(refused[1].message, /to ws:\/\/two: .* 900 bytes: it exceeds the bound of 1500 bytes for all links \(900 held\)/);
  assert.deepEqual(framesOne.slice(1).map((f) => one.receive(f)).at(-1), fits);
  assert.equal(budget.heldBytes, 0);
});

test("a frame carrying more than its total is a format error", () => {
  const reassembler = new Reassembler({ maxBytes: 1000, describe: () => "l", onRefused: () => {} });
  const frame = new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 5, 1, 2, 3]);
  reassembler.receive(frame);
  assert.throws(() => reassembler.receive(frame), ChunkFrameError);
});

test("the send queue sends priority frames first and keeps each class in order", () => {
  const queue = new SendQueue();
  queue.addChunked(bytesOf(`{${"n".repeat(29)}`), 10, false);
  queue.addWhole(bytesOf("{n2}"), false);
  const first = queue.pop();
  queue.addWhole(bytesOf("{p1}"), true);
  const order = [first];
  for (let frame = queue.pop(); frame !== null; frame = queue.pop()) order.push(frame);
  const text = (f) => (f[0] === 0 ? `chunk ${f.length - 9}` : new TextDecoder().decode(f));
  assert.deepEqual(order.map(text), ["chunk 10", "{p1}", "chunk 10", "chunk 10", "{n2}"]);
});

/** A WebSocket stand-in for one open link: records frames, lets the test run the pump. */
class RecordingSocket {
  static last = null;

  constructor(url) {
    this.url = url;
    this.sent = [];
    this.bufferedAmount = 0;
    this.extensions = "";
    RecordingSocket.last = this;
  }

  send(bytes) {
    this.sent.push(bytes);
  }

  close() {}

  welcome() {
    this.onopen();
    const welcome = { type: "welcome", protocol: 1, role: "device", vortexName: "s", vortexUuid: "su", chunks: 1 };
    this.onmessage({ data: bytesOf(JSON.stringify(welcome)).buffer });
  }
}

/** Timers the test runs by hand: `run()` fires the due ones, in order. */
class ManualTimers {
  constructor() {
    this.pending = new Map();
    this.next = 1;
  }

  setTimeout(fn, ms) {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  }

  clearTimeout(id) {
    this.pending.delete(id);
  }

  /** Fire the timers of `ms` delay (the pump's: 0 for its next turn, 10 while the socket
   * is full) until none is left; heartbeat timers are left alone. */
  run(ms) {
    for (let turns = 0; turns < 10_000; turns++) {
      const due = [...this.pending].find(([, t]) => t.ms === ms);
      if (due === undefined) return;
      this.pending.delete(due[0]);
      due[1].fn();
    }
    throw new Error("the pump never stopped");
  }
}

test("a priority message goes out between the chunks of a bulk upload", () => {
  const timers = new ManualTimers();
  const transport = new VortexTransport({
    url: "ws://127.0.0.1:1/vortexws",
    vortexName: "peek-field-app",
    onOpen: () => {},
    onClose: () => {},
    onMessage: () => {},
    WebSocketImpl: RecordingSocket,
    chunkBytes: 100,
    timers,
  });
  transport.start();
  const socket = RecordingSocket.last;
  socket.welcome();
  const hello = JSON.parse(new TextDecoder().decode(socket.sent[0]));
  assert.equal(hello.chunks, 1);
  socket.sent.length = 0;
  transport.send(bytesOf(`{${"u".repeat(449)}`));
  transport.send(bytesOf('{"call":1}'), { priority: true });
  transport.send(bytesOf('{"after":1}'));
  socket.bufferedAmount = 1000; // the socket is full: the pump waits, sending nothing
  timers.run(0);
  assert.equal(socket.sent.length, 2);
  socket.bufferedAmount = 0;
  timers.run(10);
  timers.run(0);
  const text = (f) => (f[0] === 0 ? "chunk" : new TextDecoder().decode(f));
  assert.deepEqual(socket.sent.map(text), [
    "chunk",
    '{"call":1}',
    "chunk",
    "chunk",
    "chunk",
    "chunk",
    '{"after":1}',
  ]);
  transport.stop();
});

test("the client sends RPC calls and actions with priority, other messages in order", () => {
  const timers = new ManualTimers();
  const vortex = client({ url: "ws://127.0.0.1:1/vortexws" }, {
    WebSocketImpl: RecordingSocket,
    timers,
  });
  const socket = RecordingSocket.last;
  socket.welcome();
  socket.sent.length = 0;
  vortex.send({ key: "upload" }, [new JsTestItem({ name: "u".repeat(600 * 1024) })]);
  vortex.call("some.rpc", [1]).catch(() => {});
  vortex.pushAction("proc", new TupleGenericAction({ key: "k" })).catch(() => {});
  vortex.send({ key: "after" });
  timers.run(0);
  const kinds = socket.sent.map((f) => {
    if (f[0] === 0) return "chunk";
    const key = JSON.parse(new TextDecoder().decode(f).split("\n")[0]).filt.key;
    return key.replace(/:.*/, "");
  });
  assert.deepEqual(kinds, [
    "chunk",
    "vortex.rpc.call",
    "vortex.action",
    "chunk",
    "chunk",
    "after",
  ]);
  vortex.close();
});

// ---- against the Python server ---------------------------------------------------------

test("a 40 MiB payload reaches the page over a compressed link while an RPC keeps answering", async () => {
  const server = new TestServer();
  await server.start();
  const vortex = client(server);
  try {
    await waitFor(() => vortex.isOnline, "the link");
    assert.match(vortex._transport.extensions, /^permessage-deflate/);
    const events = [];
    vortex.observe(
      "jstest.observable",
      new TupleSelector("jstest.Item", { group: `bulk:${40 * MIB}` }),
      (tuples) => events.push(["bulk", tuples[0]]),
      { additionalFilt: FILT },
    );
    await waitFor(() => vortex._transport.reassemblingBytes > 0, "the first chunks", 30_000);
    vortex
      .call(server.info.rpc.addInts, [2, 3], { additionalFilt: FILT })
      .then((value) => events.push(["rpc", value]));
    await waitFor(() => events.length === 2, "the RPC answer and the bulk data", 60_000);
    assert.deepEqual(events.map(([name]) => name), ["rpc", "bulk"]);
    assert.equal(events[0][1], 5);
    const item = events[1][1];
    assert.equal(item.name.length, 40 * MIB);
    assert.equal(sha256(item.name), item.extra.sha256);
    assert.ok(vortex.isOnline);
  } finally {
    vortex.close();
    await server.stop();
  }
});

test("a large action goes up in chunks and its large answer comes back in chunks", async () => {
  const server = new TestServer();
  await server.start();
  const vortex = client(server);
  try {
    await waitFor(() => vortex.isOnline, "the link");
    const text = "0123456789abcdef".repeat(MIB / 32); // 512 KiB: three chunks each way
    const [echo] = await vortex.pushAction(
      "jstest.actions",
      new TupleGenericAction({ key: "echo", data: { text } }),
      { additionalFilt: FILT },
    );
    assert.equal(echo.extra.data.text, text);
  } finally {
    vortex.close();
    await server.stop();
  }
});

test("a message over the page's reassembly bound is reported and the link stays up", async () => {
  const server = new TestServer();
  await server.start();
  const problems = [];
  const vortex = client(server, { maxReassemblyBytes: MIB / 2 });
  vortex.onError((error) => problems.push(error));
  try {
    await waitFor(() => vortex.isOnline, "the link");
    vortex.observe(
      "jstest.observable",
      new TupleSelector("jstest.Item", { group: `bulk:${MIB}` }),
      () => problems.push("delivered"),
      { additionalFilt: FILT },
    );
    await waitFor(() => problems.length > 0, "the refusal");
    assert.ok(problems[0] instanceof ChunkedMessageRefusedError);
    assert.match(problems[0].message, /dropped a chunked message of \d+ bytes: it exceeds the bound of 524288 bytes per link/);
    assert.equal(await vortex.call(server.info.rpc.addInts, [1, 1], { additionalFilt: FILT }), 2);
    assert.ok(vortex.isOnline);
    assert.equal(vortex._transport.reassemblingBytes, 0);
  } finally {
    vortex.close();
    await server.stop();
  }
});
