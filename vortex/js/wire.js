/**
 * The vortex wire format, version 1 (docs/vortex/wire-format.rst): values with `~` tags,
 * encoded payload bodies, and vortex messages (header line, optional LF and body).
 *
 * Type mapping (JavaScript ⇄ Python):
 *   null ⇄ None, boolean ⇄ bool, string ⇄ str, Array ⇄ list, plain object ⇄ dict,
 *   safe integer number ⇄ int, other finite number ⇄ float, NaN/±Infinity ⇄ float (`~f`),
 *   BigInt ⇄ int (bare when safe, `~int` beyond 2**53-1; decoding gives BigInt only there),
 *   VortexDateTime (or Date when encoding) ⇄ datetime (`~dt`), VortexDate ⇄ date,
 *   VortexDecimal ⇄ Decimal, Uint8Array ⇄ bytes (`~b64`), Tuple ⇄ registered tuple (`~t`).
 * A float with an integral value in the safe range (Python `2.0`) decodes to the number 2 and
 * is written back as the integer 2: JSON.parse cannot tell them apart.
 */

import { VortexDecodeError, VortexEncodeError } from "./errors.js";
import { GenericTuple, Tuple, defaultTupleRegistry, makeDefault, tupleSpec } from "./tuples.js";
import { VortexDate, VortexDateTime, VortexDecimal } from "./values.js";

export const WIRE_FORMAT_VERSION = 1;
export const MAX_DEPTH = 100;
export const MAX_INT_DIGITS = 4300;

const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);
const INT_RE = /^-?[0-9]+$/;
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const HEADER_KEYS = new Set(["v", "filt", "destVortexName", "destVortexUuid", "result", "date"]);
const BODY_KEYS = new Set(["v", "filt", "tuples", "result", "date"]);
const FLOAT_SPECIALS = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity };
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// ---- encoding: JavaScript values → JSON text ------------------------------------------

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function encodeString(value) {
  const wellFormed =
    typeof value.isWellFormed === "function" ? value.isWellFormed() : !LONE_SURROGATE_RE.test(value);
  if (!wellFormed) throw new VortexEncodeError("string contains a lone surrogate (not UTF-8)");
  return JSON.stringify(value);
}

function encodeNumber(value) {
  if (Number.isSafeInteger(value) && !Object.is(value, -0)) return String(value);
  if (Number.isNaN(value)) return '{"~f":"NaN"}';
  if (!Number.isFinite(value)) return value > 0 ? '{"~f":"Infinity"}' : '{"~f":"-Infinity"}';
  if (Object.is(value, -0)) return "-0.0";
  const text = String(value);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

function encodeBigInt(value) {
  if (value >= -MAX_SAFE_BIGINT && value <= MAX_SAFE_BIGINT) return value.toString();
  const text = value.toString();
  if (text.replace("-", "").length > MAX_INT_DIGITS) {
    throw new VortexEncodeError(`integer has more than ${MAX_INT_DIGITS} digits`);
  }
  return `{"~int":"${text}"}`;
}

function bytesToBase64(bytes) {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

function withSegment(segment, encode) {
  try {
    return encode();
  } catch (e) {
    if (e instanceof VortexEncodeError) e.addSegment(segment);
    throw e;
  }
}

function describeType(value) {
  if (typeof value !== "object") return typeof value;
  return value.constructor?.name ?? "object without prototype";
}

/**
 * Encode one value as JSON text with the wire format's tags; throws VortexEncodeError
 * naming the type and the path of anything that cannot be written.
 */
export function encodeValue(value, depth = 0) {
  switch (typeof value) {
    case "string":
      return encodeString(value);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "null";
    case "number":
      return encodeNumber(value);
    case "bigint":
      return encodeBigInt(value);
    default:
      break;
  }
  if (value === null) return "null";
  if (depth >= MAX_DEPTH) throw new VortexEncodeError(`value nests deeper than ${MAX_DEPTH} levels`);
  if (typeof value !== "object") {
    throw new VortexEncodeError(`cannot serialise a ${typeof value}`);
  }
  if (Array.isArray(value)) {
    const items = value.map((item, i) => withSegment(`[${i}]`, () => encodeValue(item, depth + 1)));
    return `[${items.join(",")}]`;
  }
  if (value instanceof Tuple) return encodeTuple(value, depth + 1);
  if (value instanceof VortexDateTime) return `{"~dt":"${value.toString()}"}`;
  if (value instanceof Date) {
    try {
      return `{"~dt":"${VortexDateTime.fromDate(value).toString()}"}`;
    } catch (e) {
      throw new VortexEncodeError(`Date cannot be written: ${e.message}`);
    }
  }
  if (value instanceof VortexDate) return `{"~date":"${value.toString()}"}`;
  if (value instanceof VortexDecimal) return `{"~dec":${JSON.stringify(value.text)}}`;
  if (value instanceof Uint8Array) return `{"~b64":"${bytesToBase64(value)}"}`;
  if (isPlainObject(value)) return encodeDict(value, depth + 1);
  throw new VortexEncodeError(
    `cannot serialise a value of type ${describeType(value)}; supported: null, boolean,` +
      " number, BigInt, string, Array, plain object, Uint8Array, Date, VortexDateTime," +
      " VortexDate, VortexDecimal and Tuple",
  );
}

function encodeDict(value, depth) {
  const items = [];
  let escape = false;
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (item === undefined) continue;
    if (key.startsWith("~")) escape = true;
    const text = withSegment(`['${key}']`, () => encodeValue(item, depth));
    items.push(`${encodeString(key)}:${text}`);
  }
  const body = `{${items.join(",")}}`;
  return escape ? `{"~esc":${body}}` : body;
}

function encodeTuple(value, depth) {
  let name;
  let fieldNames;
  if (value instanceof GenericTuple) {
    name = value.tupleName();
    fieldNames = Object.keys(value);
  } else {
    name = value.constructor.tupleType;
    if (!Object.hasOwn(value.constructor, "tupleType") || typeof name !== "string") {
      throw new VortexEncodeError(
        `tuple class ${value.constructor.name} has no static tupleType of its own`,
      );
    }
    fieldNames = tupleSpec(value.constructor).fieldNames;
  }
  const items = [`"~t":${encodeString(name)}`];
  for (const field of fieldNames) {
    const item = value[field];
    if (item === undefined) continue;
    const text = withSegment(`.${field}`, () => encodeValue(item, depth));
    items.push(`${encodeString(field)}:${text}`);
  }
  return `{${items.join(",")}}`;
}

function encodeRooted(value, root) {
  try {
    return encodeValue(value);
  } catch (e) {
    if (e instanceof VortexEncodeError) e.setRoot(root);
    throw e;
  }
}

/** JSON text of a value with object keys sorted (a stable key, e.g. for a selector). */
export function toSortedJson(value) {
  const sort = (item) => {
    if (Array.isArray(item)) return item.map(sort);
    if (item !== null && typeof item === "object") {
      return Object.fromEntries(
        Object.keys(item)
          .sort()
          .map((key) => [key, sort(item[key])]),
      );
    }
    return item;
  };
  return JSON.stringify(sort(JSON.parse(encodeValue(value))));
}

// ---- decoding: parsed JSON → JavaScript values ----------------------------------------

function typeName(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "object" : typeof value;
}

function setOwn(target, key, value) {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function decodeChild(item, depth, registry, segment) {
  if (item === null || typeof item !== "object") return item;
  try {
    return decodeValue(item, depth, registry);
  } catch (e) {
    if (e instanceof VortexDecodeError) e.addSegment(segment);
    throw e;
  }
}

/**
 * Decode one parsed JSON value; registered tuple types become their class, others
 * GenericTuple. Throws VortexDecodeError with the path on malformed input.
 */
export function decodeValue(value, depth = 0, registry = defaultTupleRegistry) {
  if (value === null || typeof value !== "object") return value;
  depth += 1;
  if (depth > MAX_DEPTH) throw new VortexDecodeError(`value nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    return value.map((item, i) => decodeChild(item, depth, registry, `[${i}]`));
  }
  if (Object.hasOwn(value, "~t")) return decodeTuple(value, depth, registry);
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0].startsWith("~")) {
    const tag = keys[0];
    const decoder = TAG_DECODERS[tag];
    if (decoder === undefined) throw new VortexDecodeError(`unknown tag '${tag}'`);
    try {
      return decoder(value[tag], depth, registry);
    } catch (e) {
      if (e instanceof VortexDecodeError) e.addSegment(`['${tag}']`);
      throw e;
    }
  }
  return decodeDictItems(value, depth, registry, false);
}

function decodeDictItems(value, depth, registry, escaped) {
  const out = {};
  for (const key of Object.keys(value)) {
    if (!escaped && key.startsWith("~")) {
      throw new VortexDecodeError(
        `object key '${key}' starts with '~' but the object is not a tag;` +
          " such dicts must be wrapped in '~esc'",
      );
    }
    setOwn(out, key, decodeChild(value[key], depth, registry, `['${key}']`));
  }
  return out;
}

function requireString(item, tag) {
  if (typeof item !== "string") {
    throw new VortexDecodeError(`${tag} tag needs a string, got ${typeName(item)}`);
  }
  return item;
}

const TAG_DECODERS = {
  "~int"(item) {
    const text = requireString(item, "~int");
    if (!INT_RE.test(text) || text.replace("-", "").length > MAX_INT_DIGITS) {
      throw new VortexDecodeError(`~int value '${text.slice(0, 40)}' is not a decimal integer`);
    }
    return BigInt(text);
  },
  "~f"(item) {
    const text = requireString(item, "~f");
    if (!Object.hasOwn(FLOAT_SPECIALS, text)) {
      throw new VortexDecodeError(`~f value '${text.slice(0, 40)}' is not NaN, Infinity or -Infinity`);
    }
    return FLOAT_SPECIALS[text];
  },
  "~dt"(item) {
    const text = requireString(item, "~dt");
    try {
      return VortexDateTime.parse(text);
    } catch {
      throw new VortexDecodeError(`~dt value '${text.slice(0, 40)}' is not an ISO 8601 datetime`);
    }
  },
  "~date"(item) {
    const text = requireString(item, "~date");
    try {
      return VortexDate.parse(text);
    } catch {
      throw new VortexDecodeError(`~date value '${text.slice(0, 40)}' is not an ISO 8601 date`);
    }
  },
  "~dec"(item) {
    const text = requireString(item, "~dec");
    try {
      return new VortexDecimal(text);
    } catch {
      throw new VortexDecodeError(`~dec value '${text.slice(0, 40)}' is not a decimal`);
    }
  },
  "~b64"(item) {
    const text = requireString(item, "~b64");
    if (!B64_RE.test(text)) throw new VortexDecodeError("~b64 value is not valid base64");
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes;
  },
  "~esc"(item, depth, registry) {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      throw new VortexDecodeError(`~esc tag needs an object, got ${typeName(item)}`);
    }
    return decodeDictItems(item, depth, registry, true);
  },
};

function decodeTuple(value, depth, registry) {
  const name = value["~t"];
  if (typeof name !== "string") {
    throw new VortexDecodeError(`~t must be a string, got ${typeName(name)}`);
  }
  const cls = registry.get(name);
  const keys = Object.keys(value).filter((key) => key !== "~t");
  if (cls === undefined) {
    const fields = {};
    for (const key of keys) {
      if (key.startsWith("~")) {
        throw new VortexDecodeError(`tuple '${name}' has a field name starting with '~': '${key}'`);
      }
      setOwn(fields, key, decodeChild(value[key], depth, registry, `.${key}`));
    }
    return new GenericTuple(name, fields);
  }
  const spec = tupleSpec(cls);
  const extra = keys.filter((key) => !spec.defaults.has(key));
  if (extra.length > 0) {
    throw new VortexDecodeError(
      `tuple type '${name}' has no field(s) ${JSON.stringify(extra.slice(0, 5))};` +
        ` declared fields are ${JSON.stringify(spec.fieldNames)}`,
    );
  }
  const obj = Object.create(cls.prototype);
  for (const [field, defaultValue] of spec.defaults) {
    if (Object.hasOwn(value, field)) {
      obj[field] = decodeChild(value[field], depth, registry, `.${field}`);
    } else {
      obj[field] = makeDefault(defaultValue);
    }
  }
  return obj;
}

/** Decode a payload's tuples array, expanding `~r` runs (columnar tuples of one type). */
function decodeTupleList(items, registry) {
  const out = [];
  items.forEach((item, i) => {
    try {
      if (typeName(item) === "object" && Object.hasOwn(item, "~r") && !Object.hasOwn(item, "~t")) {
        out.push(...decodeTupleRun(item, registry));
      } else {
        out.push(decodeValue(item, 0, registry));
      }
    } catch (e) {
      if (e instanceof VortexDecodeError) {
        e.addSegment(`[${i}]`);
        e.setRoot("payload.tuples");
      }
      throw e;
    }
  });
  return out;
}

function runError(what, segment) {
  const error = new VortexDecodeError(what);
  error.addSegment(segment);
  return error;
}

/** Each row of a run becomes the equivalent `~t` object, decoded with the usual checks. */
function decodeTupleRun(run, registry) {
  const runKeys = Object.keys(run).sort();
  if (runKeys.length !== 3 || runKeys.join(",") !== "k,v,~r") {
    throw new VortexDecodeError(`a ~r run has exactly the keys ["k", "v", "~r"], got ${JSON.stringify(runKeys.slice(0, 5))}`);
  }
  const name = run["~r"];
  if (typeof name !== "string") throw new VortexDecodeError(`~r must be a string, got ${typeName(name)}`);
  const keys = run.k;
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === "string" && !key.startsWith("~"))) {
    throw runError("run keys must be an array of field name strings", ".k");
  }
  if (new Set(keys).size !== keys.length) throw runError("run keys repeat a field name", ".k");
  const rows = run.v;
  if (!Array.isArray(rows)) throw runError(`run rows must be an array, got ${typeName(rows)}`, ".v");
  return rows.map((row, r) => {
    if (!Array.isArray(row) || row.length !== keys.length) {
      const shown = Array.isArray(row) ? `${row.length} values` : typeName(row);
      throw runError(`each run row must be an array of ${keys.length} values (one per key), got ${shown}`, `.v[${r}]`);
    }
    const value = { "~t": name };
    keys.forEach((key, c) => setOwn(value, key, row[c]));
    try {
      return decodeTuple(value, 1, registry);
    } catch (e) {
      if (e instanceof VortexDecodeError) e.addSegment(`.v[${r}]`);
      throw e;
    }
  });
}

function decodeRooted(value, root, registry) {
  try {
    return decodeValue(value, 0, registry);
  } catch (e) {
    if (e instanceof VortexDecodeError) e.setRoot(root);
    throw e;
  }
}

// ---- messages -------------------------------------------------------------------------

function parseJson(bytes, root) {
  let text;
  try {
    text = utf8Decoder.decode(bytes);
  } catch {
    throw new VortexDecodeError("not valid UTF-8", root);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new VortexDecodeError(`not valid JSON: ${e.message}`, root);
  }
}

function checkObject(obj, allowed, root) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new VortexDecodeError("must be a JSON object", root);
  }
  if (obj.v !== WIRE_FORMAT_VERSION) {
    const shown = Object.hasOwn(obj, "v") ? JSON.stringify(obj.v) : "missing";
    throw new VortexDecodeError(
      `unsupported wire format version ${shown}; this side speaks v=${WIRE_FORMAT_VERSION}`,
      `${root}.v`,
    );
  }
  const extra = Object.keys(obj).filter((key) => !allowed.has(key));
  if (extra.length > 0) {
    throw new VortexDecodeError(
      `unknown key(s) ${JSON.stringify(extra.slice(0, 5))};` +
        ` allowed are ${JSON.stringify([...allowed].sort())}`,
      root,
    );
  }
}

function decodeFilt(obj, root, registry) {
  const raw = obj.filt;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new VortexDecodeError("filt must be present and be an object", root);
  }
  const filt = decodeRooted(raw, root, registry);
  if (filt instanceof Tuple || !isPlainObject(filt)) {
    throw new VortexDecodeError("filt must decode to a dict, not a tagged value", root);
  }
  return filt;
}

function decodeDate(obj, root, registry) {
  const value = decodeRooted(obj.date ?? null, root, registry);
  if (value !== null && !(value instanceof VortexDateTime)) {
    throw new VortexDecodeError("date must be a ~dt tagged datetime or null", root);
  }
  return value;
}

function checkFiltToEncode(filt, root) {
  if (filt === null || typeof filt !== "object" || !isPlainObject(filt)) {
    throw new VortexEncodeError("filt must be a plain object", root);
  }
}

function checkName(value, root, ErrorClass) {
  if (value !== null && value !== undefined && typeof value !== "string") {
    throw new ErrorClass(`must be a string or null, got ${typeName(value)}`, root);
  }
}

/** Encode a payload body: `{"v":1,"filt":..,"tuples":[..],"result":..,"date":..}` text. */
export function encodePayloadText({ filt, tuples, result = null, date = null }) {
  checkFiltToEncode(filt, "payload.filt");
  if (!Array.isArray(tuples)) throw new VortexEncodeError("tuples must be an array", "payload.tuples");
  const items = tuples.map((item, i) => {
    try {
      return encodeValue(item);
    } catch (e) {
      if (e instanceof VortexEncodeError) {
        e.addSegment(`[${i}]`);
        e.setRoot("payload.tuples");
      }
      throw e;
    }
  });
  return (
    `{"v":1,"filt":${encodeRooted(filt, "payload.filt")},"tuples":[${items.join(",")}],` +
    `"result":${encodeRooted(result, "payload.result")},"date":${encodeRooted(date, "payload.date")}}`
  );
}

/**
 * Encode a vortex message. With `tuples` (an array) it carries a payload body; with
 * `tuples === null` it is header only. `body` may instead be a pre-encoded payload text.
 */
export function encodeMessage({
  filt,
  tuples = null,
  result = null,
  date = null,
  destVortexName = null,
  destVortexUuid = null,
  body = null,
}) {
  checkFiltToEncode(filt, "header.filt");
  checkName(destVortexName, "header.destVortexName", VortexEncodeError);
  checkName(destVortexUuid, "header.destVortexUuid", VortexEncodeError);
  const header =
    `{"v":1,"filt":${encodeRooted(filt, "header.filt")},` +
    `"destVortexName":${destVortexName === null ? "null" : encodeString(destVortexName)},` +
    `"destVortexUuid":${destVortexUuid === null ? "null" : encodeString(destVortexUuid)},` +
    `"result":${encodeRooted(result, "header.result")},"date":${encodeRooted(date, "header.date")}}`;
  let bodyText = body;
  if (bodyText === null && tuples !== null) {
    bodyText = encodePayloadText({ filt, tuples, result, date });
  }
  return utf8Encoder.encode(bodyText === null ? header : `${header}\n${bodyText}`);
}

/**
 * Decode a vortex message's header; the body stays bytes (`body`, or null).
 * @returns {{filt:object, destVortexName:string|null, destVortexUuid:string|null,
 *   result:any, date:VortexDateTime|null, body:Uint8Array|null}}
 */
export function decodeMessage(bytes, registry = defaultTupleRegistry) {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const split = data.indexOf(10);
  const headerBytes = split < 0 ? data : data.subarray(0, split);
  const body = split < 0 ? null : data.subarray(split + 1);
  if (body !== null && body[0] !== 0x7b) {
    throw new VortexDecodeError("body after the header line must be a JSON object", "body");
  }
  const header = parseJson(headerBytes, "header");
  checkObject(header, HEADER_KEYS, "header");
  const destVortexName = header.destVortexName ?? null;
  const destVortexUuid = header.destVortexUuid ?? null;
  checkName(destVortexName, "header.destVortexName", VortexDecodeError);
  checkName(destVortexUuid, "header.destVortexUuid", VortexDecodeError);
  return {
    filt: decodeFilt(header, "header.filt", registry),
    destVortexName,
    destVortexUuid,
    result: decodeRooted(header.result ?? null, "header.result", registry),
    date: decodeDate(header, "header.date", registry),
    body,
  };
}

/** Decode a payload body (bytes or text) into `{filt, tuples, result, date}`. */
export function decodePayload(body, registry = defaultTupleRegistry) {
  const obj = typeof body === "string" ? parseText(body) : parseJson(body, "payload");
  checkObject(obj, BODY_KEYS, "payload");
  if (!Array.isArray(obj.tuples)) {
    throw new VortexDecodeError("tuples must be present and be an array", "payload.tuples");
  }
  return {
    filt: decodeFilt(obj, "payload.filt", registry),
    tuples: decodeTupleList(obj.tuples, registry),
    result: decodeRooted(obj.result ?? null, "payload.result", registry),
    date: decodeDate(obj, "payload.date", registry),
  };
}

function parseText(text) {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new VortexDecodeError(`not valid JSON: ${e.message}`, "payload");
  }
}

/** Decode one value from its JSON text (the inverse of encodeValue). */
export function decodeValueText(text, registry = defaultTupleRegistry) {
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new VortexDecodeError(`not valid JSON: ${e.message}`, "value");
  }
  return decodeRooted(parsed, "value", registry);
}
