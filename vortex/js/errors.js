/**
 * Errors raised by the vortex browser client.
 *
 * Codec errors carry `what` (the problem) and `where` (a path such as
 * `payload.tuples[3].when['~dt']`), like the Python codec's errors.
 */

/** Base of the codec errors: a problem (`what`) at a place in a value (`where`). */
export class VortexCodecError extends Error {
  constructor(what, where = "value") {
    super("");
    this.name = new.target.name;
    this.what = what;
    this.where = where;
    this._segments = [];
    this._root = where;
    this._refresh();
  }

  /** Prefix one path segment (`[3]`, `.field`, `['key']`) while the error unwinds. */
  addSegment(segment) {
    this._segments.unshift(segment);
    this._refresh();
  }

  /** Set what the path is relative to (`payload.tuples`, `header.filt`, ...). */
  setRoot(root) {
    this._root = root;
    this._refresh();
  }

  _refresh() {
    this.where = this._root + this._segments.join("");
    this.message = `${this.where}: ${this.what}`;
  }
}

/** Received bytes that are not a valid vortex message or value. */
export class VortexDecodeError extends VortexCodecError {}

/** A value that cannot be written in the vortex wire format. */
export class VortexEncodeError extends VortexCodecError {}

/**
 * A request was answered with an error object (`{error, type, message}`), see
 * docs/vortex/messaging.rst; `code` is the error code (`exception`, `timeout`, ...).
 */
export class VortexRemoteError extends Error {
  constructor(code, remoteType, remoteMessage, where) {
    super(`${where}: ${remoteType} (${code}): ${remoteMessage}`);
    this.name = "VortexRemoteError";
    this.code = code;
    this.remoteType = remoteType;
    this.remoteMessage = remoteMessage;
    this.where = where;
  }
}

/** The request could not be sent, or its link dropped before the response arrived. */
export class VortexNotConnectedError extends Error {
  constructor(message) {
    super(message);
    this.name = "VortexNotConnectedError";
    this.code = "not-connected";
  }
}

/** No response arrived within the request's timeout. */
export class VortexTimeoutError extends Error {
  constructor(message) {
    super(message);
    this.name = "VortexTimeoutError";
    this.code = "timeout";
  }
}
