/**
 * The websocket link of a browser (device role) to a vortex server: handshake, heartbeats,
 * dead-peer detection, reconnecting with backoff, and large messages in chunk frames with
 * priority sends (docs/vortex/transport.rst).
 *
 * It moves opaque binary messages; the client above gives them meaning.
 */

import { Backoff } from "./backoff.js";
import {
  CHUNKS_KEY,
  CHUNK_FORMAT,
  CHUNK_MARKER,
  ChunkFrameError,
  Reassembler,
  SendQueue,
  defaultReassemblyBudget,
} from "./chunking.js";
import { VortexNotConnectedError } from "./errors.js";

export const PROTOCOL_VERSION = 1;

export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_UNSUPPORTED_DATA = 1003;
export const CLOSE_MESSAGE_TOO_BIG = 1009;
export const CLOSE_BAD_HANDSHAKE = 4001;
export const CLOSE_HANDSHAKE_TIMEOUT = 4004;
export const CLOSE_HEARTBEAT_TIMEOUT = 4005;
export const CLOSE_PROTOCOL_VERSION = 4007;
export const CLOSE_SESSION_ENDED = 4008;
export const CLOSE_DEVICE_LIMIT = 4009;
export const CLOSE_LOGIN_REQUIRED = 4010;
/** Close codes after which relinking cannot succeed until the user logs in again. */
const LOGIN_CLOSE_CODES = new Set([CLOSE_SESSION_ENDED, CLOSE_LOGIN_REQUIRED]);

/** Range of heartbeat intervals (seconds) a side may announce in the handshake. */
export const MIN_HEARTBEAT_SECONDS = 0.1;
export const MAX_HEARTBEAT_SECONDS = 300;

const IDENT_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
const HEARTBEAT = new Uint8Array(0);
/** How long the chunk pump waits while the socket still holds a chunk's worth of bytes. */
const PUMP_WAIT_MS = 10;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** Check a vortex name or uuid (1-128 of `A-Z a-z 0-9 . _ : @ -`); returns it. */
export function checkIdentifier(what, value) {
  if (typeof value !== "string" || !IDENT_RE.test(value)) {
    throw new RangeError(
      `${what} ${JSON.stringify(value)} is not valid: use 1-128 characters from A-Z a-z 0-9 . _ : @ -`,
    );
  }
  return value;
}

/** Resolve a vortex URL against the page location, mapping http(s) to ws(s). */
export function resolveVortexUrl(url) {
  const base = globalThis.location?.href;
  const resolved = base === undefined ? new URL(url) : new URL(url, base);
  if (resolved.protocol === "http:") resolved.protocol = "ws:";
  else if (resolved.protocol === "https:") resolved.protocol = "wss:";
  if (resolved.protocol !== "ws:" && resolved.protocol !== "wss:") {
    throw new RangeError(`vortex URL ${url} must use ws:, wss:, http: or https:`);
  }
  return resolved.href;
}

function isValidHeartbeat(seconds) {
  return (
    typeof seconds === "number" &&
    Number.isFinite(seconds) &&
    seconds >= MIN_HEARTBEAT_SECONDS &&
    seconds <= MAX_HEARTBEAT_SECONDS
  );
}

class HandshakeError extends Error {
  constructor(code, reason) {
    super(reason);
    this.code = code;
  }
}

function checkWelcome(data) {
  if (!(data instanceof ArrayBuffer)) {
    throw new HandshakeError(CLOSE_UNSUPPORTED_DATA, "text frame received during the handshake");
  }
  let message;
  try {
    message = JSON.parse(utf8Decoder.decode(data));
  } catch (e) {
    throw new HandshakeError(CLOSE_BAD_HANDSHAKE, `handshake frame is not JSON: ${e.message}`);
  }
  if (message === null || typeof message !== "object" || message.type !== "welcome") {
    throw new HandshakeError(CLOSE_BAD_HANDSHAKE, "expected a 'welcome' handshake message");
  }
  if (message.protocol !== PROTOCOL_VERSION) {
    throw new HandshakeError(
      CLOSE_PROTOCOL_VERSION,
      `unsupported vortex protocol ${JSON.stringify(message.protocol)},` +
        ` this side speaks ${PROTOCOL_VERSION}`,
    );
  }
  for (const key of ["vortexName", "vortexUuid"]) {
    if (typeof message[key] !== "string" || !IDENT_RE.test(message[key])) {
      throw new HandshakeError(CLOSE_BAD_HANDSHAKE, `'welcome' has a missing or invalid '${key}'`);
    }
  }
  if (message.role !== "device") {
    const role = JSON.stringify(message.role);
    throw new HandshakeError(CLOSE_BAD_HANDSHAKE, `'welcome' has role ${role}, expected 'device'`);
  }
  const heartbeatSeconds = message.heartbeatSeconds;
  if (heartbeatSeconds !== undefined && !isValidHeartbeat(heartbeatSeconds)) {
    throw new HandshakeError(
      CLOSE_BAD_HANDSHAKE,
      `'welcome' has an invalid 'heartbeatSeconds': ${JSON.stringify(heartbeatSeconds)}` +
        ` (must be a number of seconds from ${MIN_HEARTBEAT_SECONDS} to ${MAX_HEARTBEAT_SECONDS})`,
    );
  }
  return {
    server: { vortexName: message.vortexName, vortexUuid: message.vortexUuid },
    heartbeatSeconds,
    readsChunks: message[CHUNKS_KEY] === CHUNK_FORMAT,
  };
}

/**
 * Keeps one device link to `url` up until stop(): connects, says hello, checks the
 * welcome, sends a heartbeat every `heartbeatMs` (100 ms to 300 s, announced in the hello),
 * drops a link silent for `missedHeartbeats` intervals of the slower of the two sides (the
 * server announces its interval in the welcome), and reconnects after any failure with backoff,
 * except after 4008/4010 (login session ended or missing), when only a new login helps.
 *
 * Callbacks: `onOpen({vortexName, vortexUuid})` when a link is authenticated,
 * `onClose(reason, loginRequired)` when a link or an attempt ends, `onMessage(Uint8Array)`
 * per payload, `onProblem(error)` for a received chunked message dropped because it
 * exceeded `maxReassemblyBytes` or the shared `reassemblyBudget` (default: console.error).
 * To a server that reads chunk frames, a payload over `chunkBytes` goes in chunks, one per
 * timer turn while the socket keeps up, and `send(bytes, {priority: true})` goes ahead of
 * normal messages waiting behind such a transfer.
 * Each link announces a fresh `vortexUuid`, so the server never mixes up the
 * subscriptions of an old link it has not yet noticed is dead with those of the new one.
 */
export class VortexTransport {
  constructor({
    url,
    vortexName,
    onOpen,
    onClose,
    onMessage,
    WebSocketImpl = globalThis.WebSocket,
    heartbeatMs = 5000,
    missedHeartbeats = 3,
    handshakeTimeoutMs = 10_000,
    maxMessageBytes = 16 * 1024 * 1024,
    chunkBytes = 256 * 1024,
    maxReassemblyBytes = 64 * 1024 * 1024,
    reassemblyBudget = defaultReassemblyBudget,
    onProblem = (error) => console.error("vortex transport:", error),
    backoff = new Backoff(),
    timers = globalThis,
    makeUuid = () => globalThis.crypto.randomUUID(),
  }) {
    if (typeof WebSocketImpl !== "function") {
      throw new TypeError(
        "no WebSocket implementation: pass WebSocketImpl (Node 20 needs --experimental-websocket)",
      );
    }
    if (!isValidHeartbeat(heartbeatMs / 1000)) {
      throw new RangeError(
        `heartbeatMs ${heartbeatMs} is not valid: use ${MIN_HEARTBEAT_SECONDS * 1000}` +
          ` to ${MAX_HEARTBEAT_SECONDS * 1000} ms`,
      );
    }
    this.url = resolveVortexUrl(url);
    this.vortexName = checkIdentifier("vortexName", vortexName);
    this.vortexUuid = null;
    this.server = null;
    this._callbacks = { onOpen, onClose, onMessage };
    this._WebSocket = WebSocketImpl;
    this._heartbeatMs = heartbeatMs;
    this._missedHeartbeats = missedHeartbeats;
    this._handshakeTimeoutMs = handshakeTimeoutMs;
    this._maxMessageBytes = maxMessageBytes;
    this._chunkBytes = chunkBytes;
    this._maxReassemblyBytes = maxReassemblyBytes;
    this._peerReadsChunks = false;
    this._sendQueue = new SendQueue();
    this._pumpTimer = null;
    this._reassembler = new Reassembler({
      maxBytes: maxReassemblyBytes,
      budget: reassemblyBudget,
      describe: () => `to ${this.url}`,
      onRefused: onProblem,
    });
    this._backoff = backoff;
    this._timers = timers;
    this._makeUuid = makeUuid;
    this._ws = null;
    this._open = false;
    this._stopped = true;
    this._timer = null;
    this._reconnectTimer = null;
    this._heard = false;
    this._missed = 0;
    this._deadAfterTicks = missedHeartbeats;
    this._serverHeartbeatMs = heartbeatMs;
  }

  /** True while a link is authenticated and usable. */
  get isOpen() {
    return this._open;
  }

  /** The websocket extensions the server accepted ("permessage-deflate; ..." when compressed). */
  get extensions() {
    return this._open ? this._ws.extensions ?? "" : "";
  }

  /** Full sizes of the chunked messages partly received on this link right now. */
  get reassemblingBytes() {
    return this._reassembler.heldBytes;
  }

  /** Start connecting (and keep reconnecting until stop()). */
  start() {
    if (!this._stopped) return;
    this._stopped = false;
    this._connect();
  }

  /** Close the link and stop reconnecting. */
  stop(reason = "client stopping") {
    this._stopped = true;
    this._clearTimer("_reconnectTimer");
    if (this._ws !== null) this._drop(CLOSE_GOING_AWAY, reason);
  }

  /** Link at once if waiting to reconnect (the browser says its network is back). */
  relinkNow() {
    if (this._stopped || this._reconnectTimer === null) return;
    this._clearTimer("_reconnectTimer");
    this._connect();
  }

  /**
   * Send one payload message, after the messages of its class already waiting; with
   * `priority` ahead of normal ones (RPC calls and actions). Throws VortexNotConnectedError
   * when no link is open, RangeError for an empty or too large message.
   */
  send(bytes, { priority = false } = {}) {
    if (!this._open) throw new VortexNotConnectedError(`vortex ${this.url} is not connected`);
    const size = bytes.length;
    const max = this._peerReadsChunks ? this._maxReassemblyBytes : this._maxMessageBytes;
    if (size === 0 || size > max) {
      throw new RangeError(`vortex message of ${size} bytes refused: size must be 1..${max}`);
    }
    const queue = this._sendQueue;
    if (!this._peerReadsChunks || (size <= this._chunkBytes && bytes[0] !== CHUNK_MARKER)) {
      if (!queue.isBusy(priority)) {
        this._ws.send(bytes);
        return;
      }
      queue.addWhole(bytes, priority);
    } else {
      queue.addChunked(bytes, this._chunkBytes, priority);
    }
    if (this._pumpTimer === null) this._pump();
  }

  /** Send the next queued frame, and come back on a later timer turn for the one after. */
  _pump() {
    this._pumpTimer = null;
    const queue = this._sendQueue;
    if (!this._open || queue.isEmpty) return;
    const full = () => this._ws.bufferedAmount > this._chunkBytes;
    if (!full()) this._ws.send(queue.pop());
    if (!queue.isEmpty) {
      this._pumpTimer = this._timers.setTimeout(() => this._pump(), full() ? PUMP_WAIT_MS : 0);
    }
  }

  // ---- connection life --------------------------------------------------------------

  _connect() {
    this._reconnectTimer = null;
    if (this._stopped) return;
    let ws;
    try {
      ws = new this._WebSocket(this.url);
    } catch (e) {
      this._ended(`cannot open ${this.url}: ${e.message}`);
      return;
    }
    ws.binaryType = "arraybuffer";
    this._ws = ws;
    this.vortexUuid = checkIdentifier("vortexUuid", this._makeUuid());
    this._timer = this._timers.setTimeout(() => {
      this._timer = null;
      this._drop(CLOSE_HANDSHAKE_TIMEOUT, `handshake not completed within ${this._handshakeTimeoutMs} ms`);
    }, this._handshakeTimeoutMs);
    ws.onopen = () => {
      const hello = {
        type: "hello",
        protocol: PROTOCOL_VERSION,
        role: "device",
        vortexName: this.vortexName,
        vortexUuid: this.vortexUuid,
        heartbeatSeconds: this._heartbeatMs / 1000,
        [CHUNKS_KEY]: CHUNK_FORMAT,
      };
      ws.send(utf8Encoder.encode(JSON.stringify(hello)));
    };
    ws.onmessage = (event) => this._received(event.data);
    ws.onclose = (event) => {
      if (this._ws !== ws) return;
      const detail = event.reason ? `: ${event.reason}` : "";
      const loginRequired = LOGIN_CLOSE_CODES.has(event.code);
      // Relinking would be refused: stop until the page logs in again and restarts.
      if (loginRequired) this._stopped = true;
      this._ended(`connection closed (code ${event.code}${detail})`, loginRequired);
    };
    // Some implementations (Node 20's) report a failed connection with an error event only.
    ws.onerror = () => {
      if (this._ws !== ws) return;
      this._discard(CLOSE_NORMAL, "websocket error");
      this._ended("connection failed or lost (websocket error)");
    };
  }

  _received(data) {
    if (!this._open) {
      let welcome;
      try {
        welcome = checkWelcome(data);
      } catch (e) {
        this._drop(e.code, e.message);
        return;
      }
      const { server, heartbeatSeconds, readsChunks } = welcome;
      this._clearTimer("_timer");
      this._open = true;
      this._peerReadsChunks = readsChunks;
      this.server = server;
      this._heard = false;
      this._missed = 0;
      // A server that announces no interval is taken to use ours; silence is judged against
      // the slower sender, counted in our own ticks.
      const serverMs = heartbeatSeconds === undefined ? this._heartbeatMs : heartbeatSeconds * 1000;
      this._serverHeartbeatMs = serverMs;
      const ratio = Math.max(this._heartbeatMs, serverMs) / this._heartbeatMs;
      this._deadAfterTicks = Math.ceil(this._missedHeartbeats * ratio - 1e-9);
      this._backoff.reset();
      this._timer = this._timers.setTimeout(() => this._heartbeatTick(), this._heartbeatMs);
      this._callbacks.onOpen(server);
      return;
    }
    this._heard = true;
    if (!(data instanceof ArrayBuffer)) {
      this._drop(CLOSE_UNSUPPORTED_DATA, "text frame received; the vortex uses binary frames");
    } else if (data.byteLength > this._maxMessageBytes) {
      this._drop(CLOSE_MESSAGE_TOO_BIG, `message of ${data.byteLength} bytes exceeds the limit`);
    } else if (data.byteLength > 0) {
      const bytes = new Uint8Array(data);
      if (bytes[0] !== CHUNK_MARKER) this._callbacks.onMessage(bytes);
      else this._chunkReceived(bytes);
    }
  }

  _chunkReceived(frame) {
    let payload;
    try {
      payload = this._reassembler.receive(frame);
    } catch (e) {
      if (!(e instanceof ChunkFrameError)) throw e;
      this._drop(CLOSE_PROTOCOL_ERROR, `malformed chunk frame: ${e.message}`);
      return;
    }
    if (payload !== null) this._callbacks.onMessage(payload);
  }

  _heartbeatTick() {
    this._timer = null;
    if (this._heard) {
      this._heard = false;
      this._missed = 0;
    } else {
      this._missed += 1;
      if (this._missed >= this._deadAfterTicks) {
        const intervalMs = Math.max(this._heartbeatMs, this._serverHeartbeatMs);
        this._drop(
          CLOSE_HEARTBEAT_TIMEOUT,
          `server silent for ${this._missedHeartbeats} heartbeat intervals of ${intervalMs} ms; declared dead`,
        );
        return;
      }
    }
    this._ws.send(HEARTBEAT);
    this._timer = this._timers.setTimeout(() => this._heartbeatTick(), this._heartbeatMs);
  }

  /** Close the socket from this side and treat the link as ended at once. */
  _drop(code, reason) {
    this._discard(code, reason);
    this._ended(`closed by this side (code ${code}): ${reason}`);
  }

  /** Detach from the current socket and close it without waiting for the peer. */
  _discard(code, reason) {
    const ws = this._ws;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      // Already closing or never opened: the socket is abandoned either way.
    }
  }

  _ended(reason, loginRequired = false) {
    this._clearTimer("_timer");
    this._clearTimer("_pumpTimer");
    this._sendQueue.clear();
    this._reassembler.discard();
    this._peerReadsChunks = false;
    this._ws = null;
    this._open = false;
    this.server = null;
    this._callbacks.onClose(reason, loginRequired);
    if (!this._stopped) {
      const delay = this._backoff.nextDelayMs();
      this._reconnectTimer = this._timers.setTimeout(() => this._connect(), delay);
    }
  }

  _clearTimer(name) {
    if (this[name] !== null) {
      this._timers.clearTimeout(this[name]);
      this[name] = null;
    }
  }
}
