/**
 * Chunk frames (docs/vortex/transport.rst, "Chunked messages"): how a payload larger than
 * one frame crosses the link and is put back together, and the send queue that lets RPC
 * and action messages overtake a bulk transfer. The same format as vortex/transport/chunking.py.
 *
 * A chunk frame is `0x00 | message id (uint32 BE) | total bytes (uint32 BE) | data`. Every
 * vortex message starts with `{`, so a first byte 0x00 marks a chunk frame; a payload that
 * does start with 0x00 is sent as one chunk.
 */

/** The hello key announcing the chunk format this side reads, and that format. */
export const CHUNKS_KEY = "chunks";
export const CHUNK_FORMAT = 1;
export const CHUNK_MARKER = 0;
export const CHUNK_HEADER_BYTES = 9;
const MAX_MESSAGE_ID = 0xffffffff;
/** Default bound on the chunked messages all links of a page hold while reassembling. */
export const DEFAULT_TOTAL_REASSEMBLY_BYTES = 256 * 1024 * 1024;

/** A chunk frame breaks the format: the server is broken, the link is dropped. */
export class ChunkFrameError extends Error {}

/** A chunked message was dropped because it did not fit a reassembly bound. */
export class ChunkedMessageRefusedError extends Error {}

/** The chunk frames of `bytes` (a Uint8Array), each `chunkBytes` of data at most. */
export function* chunkFrames(messageId, bytes, chunkBytes) {
  for (let start = 0; start < bytes.length; start += chunkBytes) {
    const data = bytes.subarray(start, start + chunkBytes);
    const frame = new Uint8Array(CHUNK_HEADER_BYTES + data.length);
    const header = new DataView(frame.buffer);
    header.setUint8(0, CHUNK_MARKER);
    header.setUint32(1, messageId);
    header.setUint32(5, bytes.length);
    frame.set(data, CHUNK_HEADER_BYTES);
    yield frame;
  }
}

/** How many chunk frames a payload of `size` bytes takes. */
export function frameCount(size, chunkBytes) {
  return Math.ceil(size / chunkBytes);
}

/** The bytes of partly received chunked messages every link of a page may hold. */
export class ReassemblyBudget {
  constructor(maxBytes = DEFAULT_TOTAL_REASSEMBLY_BYTES) {
    this.maxBytes = maxBytes;
    this.heldBytes = 0;
  }

  reserve(size) {
    if (this.heldBytes + size > this.maxBytes) return false;
    this.heldBytes += size;
    return true;
  }

  release(size) {
    this.heldBytes -= size;
  }
}

/** The budget links share unless given their own. */
export const defaultReassemblyBudget = new ReassemblyBudget();

/**
 * The chunked messages one link is receiving, within `maxBytes` for the link and the
 * shared `budget`. A message that does not fit is refused at its first frame: `onRefused`
 * gets a ChunkedMessageRefusedError naming the link (`describe()`), the size and the
 * bound, its frames are dropped, and the link carries on.
 */
export class Reassembler {
  constructor({ maxBytes, budget = defaultReassemblyBudget, describe, onRefused }) {
    this._maxBytes = maxBytes;
    this._budget = budget;
    this._describe = describe;
    this._onRefused = onRefused;
    this._partial = new Map();
    this.heldBytes = 0;
  }

  /** Take one chunk frame (Uint8Array); the whole payload with its last frame, else null. */
  receive(frame) {
    if (frame.length <= CHUNK_HEADER_BYTES) {
      throw new ChunkFrameError(`chunk frame of ${frame.length} bytes carries no data`);
    }
    const header = new DataView(frame.buffer, frame.byteOffset, CHUNK_HEADER_BYTES);
    const messageId = header.getUint32(1);
    const total = header.getUint32(5);
    const data = frame.subarray(CHUNK_HEADER_BYTES);
    let partial = this._partial.get(messageId);
    if (partial === undefined) {
      if (data.length === total) return data.slice();
      partial = { total, received: 0, buffer: this._admit(total) ? new Uint8Array(total) : null };
      this._partial.set(messageId, partial);
    } else if (partial.total !== total) {
      throw new ChunkFrameError(
        `chunk of message ${messageId} says ${total} bytes, its first said ${partial.total}`,
      );
    }
    if (partial.received + data.length > total) {
      throw new ChunkFrameError(`chunks of message ${messageId} carry more than its ${total} bytes`);
    }
    if (partial.buffer !== null) partial.buffer.set(data, partial.received);
    partial.received += data.length;
    if (partial.received < total) return null;
    this._partial.delete(messageId);
    if (partial.buffer === null) return null;
    this._release(total);
    return partial.buffer;
  }

  /** Drop every message being received (the link ended) and give back their bytes. */
  discard() {
    for (const partial of this._partial.values()) {
      if (partial.buffer !== null) this._release(partial.total);
    }
    this._partial.clear();
  }

  _admit(total) {
    let why;
    if (this.heldBytes + total > this._maxBytes) {
      why = `the bound of ${this._maxBytes} bytes per link (${this.heldBytes} held)`;
    } else if (!this._budget.reserve(total)) {
      why = `the bound of ${this._budget.maxBytes} bytes for all links (${this._budget.heldBytes} held)`;
    } else {
      this.heldBytes += total;
      return true;
    }
    this._onRefused(
      new ChunkedMessageRefusedError(
        `vortex link ${this._describe()}: dropped a chunked message of ${total} bytes:` +
          ` it exceeds ${why}; the link stays up`,
      ),
    );
    return false;
  }

  _release(total) {
    this.heldBytes -= total;
    this._budget.release(total);
  }
}

/**
 * Frames waiting to be sent, in two classes: priority (RPC calls, actions) first, normal
 * after; each class keeps its order, so a normal message sent after a bulk one still
 * arrives after it.
 */
export class SendQueue {
  constructor() {
    this.priority = [];
    this.normal = [];
    this._nextId = MAX_MESSAGE_ID;
  }

  get isEmpty() {
    return this.priority.length === 0 && this.normal.length === 0;
  }

  /** True when a message of this class must wait behind others of its class. */
  isBusy(priority) {
    return (priority ? this.priority : this.normal).length > 0;
  }

  /** Queue a payload that goes whole. */
  addWhole(bytes, priority) {
    this._queue(priority).push({ next: bytes, frames: null });
  }

  /** Queue a payload as chunk frames of `chunkBytes` data each. */
  addChunked(bytes, chunkBytes, priority) {
    this._nextId = (this._nextId + 1) % (MAX_MESSAGE_ID + 1);
    const frames = chunkFrames(this._nextId, bytes, chunkBytes);
    this._queue(priority).push({ next: frames.next().value, frames });
  }

  /** The next frame to send (priority class first), or null when nothing waits. */
  pop() {
    const queue = this.priority.length > 0 ? this.priority : this.normal;
    if (queue.length === 0) return null;
    const outgoing = queue[0];
    const frame = outgoing.next;
    const following = outgoing.frames === null ? { done: true } : outgoing.frames.next();
    if (following.done) queue.shift();
    else outgoing.next = following.value;
    return frame;
  }

  clear() {
    this.priority.length = 0;
    this.normal.length = 0;
  }

  _queue(priority) {
    return priority ? this.priority : this.normal;
  }
}
