/**
 * VortexClient: what a page uses to talk to its service's vortex — observe tuple data,
 * push tuple actions (optionally through the offline queue), call RPCs, and raw
 * endpoints. Message shapes: docs/vortex/messaging.rst; guide: docs/vortex/browser-client.rst.
 */

import { Backoff } from "./backoff.js";
import {
  VortexNotConnectedError,
  VortexRemoteError,
  VortexTimeoutError,
} from "./errors.js";
import { OfflineActionQueue, defaultQueueStore } from "./offlineQueue.js";
import { Tuple, TupleSelector, defaultTupleRegistry } from "./tuples.js";
import { VortexTransport } from "./transport.js";
import {
  decodeMessage,
  decodePayload,
  decodeValueText,
  encodeMessage,
  encodePayloadText,
  encodeValue,
  toSortedJson,
} from "./wire.js";

const OBSERVABLE_KEY = "vortex.observable:";
const OBSERVABLE_DATA_KEY = "vortex.observable.data:";
const ACTION_KEY = "vortex.action:";
const ACTION_RESPONSE_KEY = "vortex.action.response:";
const RPC_CALL_KEY = "vortex.rpc.call:";
const RPC_RESPONSE_KEY = "vortex.rpc.response:";

/** Default client-side timeouts (ms): longer than the server hops' own (see messaging.rst). */
export const DEFAULT_TIMEOUTS = { call: 30_000, poll: 35_000, action: 45_000 };

function isErrorResult(result) {
  return result !== null && typeof result === "object" && !(result instanceof Tuple) && "error" in result;
}

function remoteError(result, where) {
  return new VortexRemoteError(String(result.error), String(result.type), String(result.message), where);
}

function randomHex(bytes) {
  const data = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A page's link to its service's vortex.
 *
 * Options: `url` (default `/vortexws`, resolved against the page, http→ws, https→wss),
 * `vortexName` (e.g. `peek-field-app`), `registry` (tuple classes; default
 * `defaultTupleRegistry`), `offlineStore` (for the offline action queue; default IndexedDB,
 * else localStorage, else memory), `autoStart` (default true), `heartbeatMs` (5000),
 * `missedHeartbeats` (3), `handshakeTimeoutMs` (10000), `backoff` (`{initialMs: 500,
 * capMs: 2000}`), `queueBackoff` (`{initialMs: 250, capMs: 2000}`: retries of queued
 * actions the service could not forward; short, so an action goes out soon after the
 * service relinks upstream), `maxReassemblyBytes` (64 MiB: the largest message received in
 * chunks; a larger one is dropped and reported to `onError`), `WebSocketImpl`, `timers`
 * (setTimeout/clearTimeout, for tests).
 */
export class VortexClient {
  constructor({
    url = "/vortexws",
    vortexName,
    registry = defaultTupleRegistry,
    offlineStore = null,
    autoStart = true,
    heartbeatMs = 5000,
    missedHeartbeats = 3,
    handshakeTimeoutMs = 10_000,
    maxReassemblyBytes = 64 * 1024 * 1024,
    backoff = {},
    queueBackoff = {},
    WebSocketImpl = globalThis.WebSocket,
    timers = globalThis,
  }) {
    this.vortexName = vortexName;
    this.registry = registry;
    this._timers = timers;
    this._statusListeners = new Set();
    this._errorListeners = new Set();
    this._status = { status: "offline", online: false, reason: "not connected yet", server: null };
    this._idPrefix = randomHex(6);
    this._counter = 0;
    this._pending = new Map();
    this._subscriptions = new Map();
    this._subscriptionsById = new Map();
    this._endpoints = new Set();
    this._transport = new VortexTransport({
      url,
      vortexName,
      WebSocketImpl,
      heartbeatMs,
      missedHeartbeats,
      handshakeTimeoutMs,
      maxReassemblyBytes,
      backoff: new Backoff(backoff),
      timers,
      onOpen: (server) => this._linkUp(server),
      onClose: (reason, loginRequired) => this._linkDown(reason, loginRequired),
      onMessage: (bytes) => this._received(bytes),
      onProblem: (error) => this._reportError(error),
    });
    this._queue = new OfflineActionQueue({
      store: offlineStore ?? defaultQueueStore(`vortex-offline-actions:${vortexName}`),
      send: (entry) => this._sendQueued(entry),
      isOnline: () => this._transport.isOpen,
      onError: (e) => this._reportError(e),
      timers,
      backoff: new Backoff({ initialMs: 250, capMs: 2000, ...queueBackoff }),
    });
    if (autoStart) this.start();
  }

  // ---- life and status ---------------------------------------------------------------

  /** Start connecting (done by the constructor unless `autoStart: false`). */
  start() {
    this._transport.start();
  }

  /**
   * Close the link and stop reconnecting. Outstanding calls fail; queued offline actions
   * stay stored and are pushed by the next client created with the same store.
   */
  close() {
    this._queue.stop();
    this._transport.stop();
  }

  /**
   * Link at once instead of after the backoff delay, if waiting to relink: call it when
   * the browser's `online` event says the network is back.
   */
  relinkNow() {
    this._transport.relinkNow();
  }

  /** True while the link to the service is up. */
  get isOnline() {
    return this._transport.isOpen;
  }

  /** How many offline actions wait for their response. */
  get queuedActionCount() {
    return this._queue.size;
  }

  /** Resolves once the stored offline actions have been loaded. */
  get queueReady() {
    return this._queue.ready;
  }

  /**
   * Call `listener({status, online, reason, server})` now and on every change: `"online"`
   * once linked, `"offline"` with the reason whenever a link or an attempt ends, and
   * `"login-required"` when the site closed the link because its login session ended or
   * it had none (close code 4008 or 4010): the client then stops relinking; log in and
   * reload the page.
   * Returns a function that removes the listener.
   */
  onStatus(listener) {
    this._statusListeners.add(listener);
    listener({ ...this._status });
    return () => this._statusListeners.delete(listener);
  }

  /**
   * Call `listener(error)` for problems with no caller to tell: undecodable messages,
   * observer errors without their own `onError`, throwing callbacks. Without any listener
   * they go to `console.error`. Returns a function that removes the listener.
   */
  onError(listener) {
    this._errorListeners.add(listener);
    return () => this._errorListeners.delete(listener);
  }

  _setStatus(status) {
    this._status = status;
    for (const listener of this._statusListeners) {
      this._safely(() => listener({ ...status }));
    }
  }

  _reportError(error) {
    if (this._errorListeners.size === 0) {
      console.error("vortex client:", error);
      return;
    }
    for (const listener of this._errorListeners) {
      try {
        listener(error);
      } catch (e) {
        console.error("vortex client: error listener failed:", e);
      }
    }
  }

  _safely(fn) {
    try {
      fn();
    } catch (e) {
      this._reportError(e);
    }
  }

  _linkUp(server) {
    this._setStatus({ status: "online", online: true, reason: "connected", server });
    for (const subscription of this._subscriptions.values()) this._sendSubscribe(subscription);
    this._queue.kick();
  }

  _linkDown(reason, loginRequired = false) {
    const pending = [...this._pending.values()];
    this._pending.clear();
    for (const request of pending) {
      this._timers.clearTimeout(request.timer);
      request.reject(new VortexNotConnectedError(`${request.where}: link lost (${reason})`));
    }
    const status = loginRequired ? "login-required" : "offline";
    this._setStatus({ status, online: false, reason, server: null });
  }

  // ---- requests ----------------------------------------------------------------------

  _newId() {
    this._counter += 1;
    return `${this._idPrefix}:${this._counter}`;
  }

  /**
   * Send one request and resolve with the response header (and body bytes); rejects with
   * VortexNotConnectedError (not sent, or link lost) or VortexTimeoutError. With `priority`
   * (RPC calls and actions) it goes ahead of messages waiting behind a bulk transfer.
   */
  _request({ id, filt, tuples = null, body = null, responseKey, timeoutMs, where, priority = false }) {
    if (!this._transport.isOpen) {
      return Promise.reject(new VortexNotConnectedError(`${where}: not connected (${this._status.reason})`));
    }
    let bytes;
    try {
      bytes = encodeMessage({ filt, tuples, body });
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      const timer = this._timers.setTimeout(() => {
        this._pending.delete(id);
        reject(new VortexTimeoutError(`${where}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this._pending.set(id, { resolve, reject, timer, responseKey, where });
      try {
        this._transport.send(bytes, { priority });
      } catch (e) {
        this._pending.delete(id);
        this._timers.clearTimeout(timer);
        reject(e);
      }
    });
  }

  _settle(id, message) {
    const request = this._pending.get(id);
    if (request === undefined || message.filt.key !== request.responseKey) return false;
    this._pending.delete(id);
    this._timers.clearTimeout(request.timer);
    request.resolve(message);
    return true;
  }

  _tuplesOf(message) {
    return message.body === null ? [] : decodePayload(message.body, this.registry).tuples;
  }

  /**
   * Call the RPC `rpcName` (`"<module>.<qualname>"` of the Python function) on the
   * service this page is linked to, with positional `args` and `options.kwargs`; resolves
   * with its return value. Fails at once when offline; rejects with VortexRemoteError
   * when the function raised, VortexTimeoutError after `timeoutMs`.
   */
  async call(
    rpcName,
    args = [],
    { kwargs = {}, additionalFilt = {}, timeoutMs = DEFAULT_TIMEOUTS.call } = {},
  ) {
    const id = this._newId();
    const where = `RPC ${rpcName}`;
    const message = await this._request({
      id,
      filt: { ...additionalFilt, key: RPC_CALL_KEY + rpcName, msgId: id },
      tuples: [args, kwargs],
      responseKey: RPC_RESPONSE_KEY + rpcName,
      timeoutMs,
      where,
      priority: true,
    });
    if (isErrorResult(message.result)) throw remoteError(message.result, where);
    return this._tuplesOf(message)[0] ?? null;
  }

  /**
   * Push a tuple action to `actionProcessorName`; resolves with the result tuples.
   *
   * Without `offline`, fails at once when not connected or when the link drops. With
   * `offline: true` the action is stored first and pushed (in order, again and again)
   * until it is answered; the promise settles once, with the answer. An error answer
   * (other than a proxy's `not-connected` or a `retry-later`) is not retried: it rejects with
   * VortexRemoteError. After a page reload, answers go to `onQueuedActionResult`.
   */
  async pushAction(
    actionProcessorName,
    tupleAction,
    { additionalFilt = {}, offline = false, timeoutMs = DEFAULT_TIMEOUTS.action } = {},
  ) {
    const where = `action ${tupleAction?.tupleName?.() ?? "?"} to ${actionProcessorName}`;
    if (offline) {
      const response = await this._queue.add({
        actionProcessorName,
        filtText: encodeValue(additionalFilt),
        bodyText: encodePayloadText({ filt: {}, tuples: [tupleAction] }),
      });
      if (response.error) throw response.error;
      return response.tuples;
    }
    const id = this._newId();
    const message = await this._request({
      id,
      filt: { ...additionalFilt, key: ACTION_KEY + actionProcessorName, msgId: id },
      tuples: [tupleAction],
      responseKey: ACTION_RESPONSE_KEY + actionProcessorName,
      timeoutMs,
      where,
      priority: true,
    });
    if (isErrorResult(message.result)) throw remoteError(message.result, where);
    return this._tuplesOf(message);
  }

  async _sendQueued(entry) {
    const id = this._newId();
    const where = `queued action ${entry.id} to ${entry.actionProcessorName}`;
    const additionalFilt = decodeValueText(entry.filtText, this.registry);
    const message = await this._request({
      id,
      filt: { ...additionalFilt, key: ACTION_KEY + entry.actionProcessorName, msgId: id },
      body: entry.bodyText,
      responseKey: ACTION_RESPONSE_KEY + entry.actionProcessorName,
      timeoutMs: DEFAULT_TIMEOUTS.action,
      where,
      priority: true,
    });
    if (isErrorResult(message.result)) {
      return { error: remoteError(message.result, where), tuples: [] };
    }
    return { error: null, tuples: this._tuplesOf(message) };
  }

  /**
   * Call `handler({id, actionProcessorName, action, tuples, error})` for each queued
   * offline action answered while no promise waits for it (it was pushed before a page
   * reload). Answers that arrive before a handler is registered are kept until one is.
   * Returns a function that removes the handler.
   */
  onQueuedActionResult(handler) {
    return this._queue.onResult((entry, response) => {
      let action = null;
      try {
        action = decodePayload(entry.bodyText, this.registry).tuples[0];
      } catch (e) {
        this._reportError(e);
      }
      handler({
        id: entry.id,
        actionProcessorName: entry.actionProcessorName,
        action,
        tuples: response.tuples,
        error: response.error,
      });
    });
  }

  // ---- observables -------------------------------------------------------------------

  /**
   * Observe `tupleSelector` on `observableName`: `callback(tuples)` gets the current data
   * and then every update (each call carries the complete list). Subscriptions survive
   * reconnects (they are sent again). Observers of the same selector share one
   * subscription, and a new one gets the last data at once. `onError(error)` gets error
   * answers (e.g. no provider for the tuple). Returns a function that stops observing.
   */
  observe(observableName, tupleSelector, callback, { additionalFilt = {}, onError = null } = {}) {
    if (!(tupleSelector instanceof TupleSelector)) {
      throw new TypeError("observe needs a TupleSelector");
    }
    const key = [observableName, toSortedJson(additionalFilt), toSortedJson(tupleSelector)].join("\n");
    let subscription = this._subscriptions.get(key);
    const created = subscription === undefined;
    if (created) {
      subscription = {
        key,
        subId: this._newId(),
        observableName,
        additionalFilt,
        tupleSelector,
        observers: new Set(),
        last: undefined,
      };
      this._subscriptions.set(key, subscription);
      this._subscriptionsById.set(subscription.subId, subscription);
    }
    const observer = { callback, onError };
    subscription.observers.add(observer);
    if (created) {
      if (this._transport.isOpen) this._sendSubscribe(subscription);
    } else if (subscription.last !== undefined) {
      const last = subscription.last;
      queueMicrotask(() => {
        if (subscription.observers.has(observer)) this._safely(() => callback(last));
      });
    }
    return () => {
      if (!subscription.observers.delete(observer) || subscription.observers.size > 0) return;
      this._subscriptions.delete(key);
      this._subscriptionsById.delete(subscription.subId);
      if (this._transport.isOpen) this._sendObservable(subscription, "unsubscribe");
    };
  }

  /** Get the current data for `tupleSelector` once, without subscribing. */
  async poll(
    observableName,
    tupleSelector,
    { additionalFilt = {}, timeoutMs = DEFAULT_TIMEOUTS.poll } = {},
  ) {
    const id = this._newId();
    const where = `poll of ${tupleSelector.name} on ${observableName}`;
    const message = await this._request({
      id,
      filt: {
        ...additionalFilt,
        key: OBSERVABLE_KEY + observableName,
        op: "poll",
        subId: id,
        tupleSelector,
      },
      responseKey: OBSERVABLE_DATA_KEY + observableName,
      timeoutMs,
      where,
    });
    if (isErrorResult(message.result)) throw remoteError(message.result, where);
    return this._tuplesOf(message);
  }

  _sendSubscribe(subscription) {
    this._sendObservable(subscription, "subscribe");
  }

  _sendObservable(subscription, op) {
    const filt = {
      ...subscription.additionalFilt,
      key: OBSERVABLE_KEY + subscription.observableName,
      op,
      subId: subscription.subId,
      tupleSelector: subscription.tupleSelector,
    };
    this._transport.send(encodeMessage({ filt }));
  }

  _observableData(message) {
    const subscription = this._subscriptionsById.get(message.filt.subId);
    const expectedKey = OBSERVABLE_DATA_KEY + subscription?.observableName;
    if (subscription === undefined || message.filt.key !== expectedKey) return false;
    const where = `observable ${subscription.observableName}, ${subscription.tupleSelector.name}`;
    if (isErrorResult(message.result)) {
      const error = remoteError(message.result, where);
      for (const observer of subscription.observers) {
        if (observer.onError === null) this._reportError(error);
        else this._safely(() => observer.onError(error));
      }
      return true;
    }
    const tuples = this._tuplesOf(message);
    subscription.last = tuples;
    for (const observer of [...subscription.observers]) {
      this._safely(() => observer.callback(tuples));
    }
    return true;
  }

  // ---- raw payloads ------------------------------------------------------------------

  /** Send a payload with `filt` and `tuples` to the service (fails when offline). */
  send(filt, tuples = []) {
    this._transport.send(encodeMessage({ filt, tuples }));
  }

  /**
   * Call `callback({filt, tuples, result, date})` for every received payload whose filt
   * contains every item of `filt`. Returns a function that removes the endpoint.
   */
  addEndpoint(filt, callback) {
    const endpoint = {
      items: Object.entries(filt).map(([key, value]) => [key, toSortedJson(value)]),
      callback,
    };
    this._endpoints.add(endpoint);
    return () => this._endpoints.delete(endpoint);
  }

  _matches(endpoint, filt) {
    return endpoint.items.every(
      ([key, json]) => Object.hasOwn(filt, key) && toSortedJson(filt[key]) === json,
    );
  }

  // ---- receiving ---------------------------------------------------------------------

  _received(bytes) {
    this._safely(() => this._dispatch(decodeMessage(bytes, this.registry)));
  }

  _dispatch(message) {
    const { filt } = message;
    const key = typeof filt.key === "string" ? filt.key : "";
    if (key.startsWith(OBSERVABLE_DATA_KEY)) {
      if (this._observableData(message) || this._settle(filt.subId, message)) return;
    } else if (key.startsWith(ACTION_RESPONSE_KEY) || key.startsWith(RPC_RESPONSE_KEY)) {
      if (this._settle(filt.msgId, message)) return;
    }
    const endpoints = [...this._endpoints].filter((endpoint) => this._matches(endpoint, filt));
    if (endpoints.length === 0) return;
    const payload = message.body === null
      ? { filt, tuples: [], result: message.result, date: message.date }
      : { ...decodePayload(message.body, this.registry), result: message.result };
    for (const endpoint of endpoints) this._safely(() => endpoint.callback(payload));
  }
}
