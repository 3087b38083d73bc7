// The wire codec against golden vectors made by the Python codec, and its error handling.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  GenericTuple,
  Tuple,
  TupleGenericAction,
  TupleSelector,
  VortexDate,
  VortexDateTime,
  VortexDecimal,
  VortexDecodeError,
  VortexEncodeError,
  decodeMessage,
  decodePayload,
  decodeValueText,
  defaultTupleRegistry,
  encodeMessage,
  encodeValue,
} from "../../vortex/js/index.js";
import { runPythonJson } from "./helpers.mjs";

class JsTestItem extends Tuple {
  static tupleType = "jstest.Item";
  static tupleFields = { id: null, name: null, value: null, when: null, extra: () => ({}) };
}

const registry = defaultTupleRegistry.copy();
registry.register(JsTestItem);

const VECTORS = runPythonJson("codec_vectors.py", ["encode"]);
const DECODED = new Map(VECTORS.map(([name, text]) => [name, decodeValueText(text, registry)]));

test("every Python-encoded value decodes and re-encodes to the same Python value", () => {
  const reencoded = VECTORS.map(([name]) => [name, encodeValue(DECODED.get(name))]);
  const verdicts = runPythonJson("codec_vectors.py", ["check"], JSON.stringify(reencoded));
  const failures = Object.entries(verdicts).filter(([, verdict]) => verdict !== "ok");
  assert.deepEqual(failures, []);
  assert.equal(Object.keys(verdicts).length, VECTORS.length);
});

test("Python values decode to the documented JavaScript types", () => {
  const d = (name) => DECODED.get(name);
  assert.equal(d("int-max-safe"), Number.MAX_SAFE_INTEGER);
  assert.equal(d("int-beyond-safe"), 9007199254740992n);
  assert.equal(d("int-big-negative"), -18446744073709551616n);
  assert.ok(Object.is(d("float-negative-zero"), -0));
  assert.ok(Number.isNaN(d("float-nan")));
  assert.equal(d("float-minus-inf"), -Infinity);
  assert.deepEqual(d("bytes-some"), new Uint8Array([0, 1, 255]));
  assert.equal(d("dt-naive").isNaive, true);
  assert.equal(d("dt-naive").microsecond, 678901);
  assert.equal(d("dt-plus-0530").utcOffsetMicros, 19_800_000_000);
  assert.equal(d("dt-offset-micros").toString(), "2024-01-01T00:00:00-01:00:01.000005");
  assert.ok(d("date-leap").equals(new VortexDate(2024, 2, 29)));
  assert.equal(d("dec-exponent").text, "-1.2500E+7");
  assert.deepEqual(Object.keys(d("dict-escaped")), ["~t", "when"]);
  assert.equal(Object.getPrototypeOf(d("dict-proto-keys")), Object.prototype);
  assert.equal(d("dict-proto-keys").__proto__, 1);
});

test("registered tuples decode to their class, unknown ones to GenericTuple", () => {
  const item = DECODED.get("tuple-registered");
  assert.ok(item instanceof JsTestItem);
  assert.equal(item.name, "item ✓");
  assert.ok(item.extra.price.equals(new VortexDecimal("9.99")));
  assert.deepEqual(DECODED.get("tuple-defaults").extra, {});
  const generic = DECODED.get("tuple-unregistered");
  assert.ok(generic instanceof GenericTuple);
  assert.equal(generic.tupleName(), "jstest.Unregistered");
  assert.deepEqual(generic.a, [1, "two"]);
  assert.ok(generic.nested instanceof JsTestItem);
  assert.ok(DECODED.get("tuple-selector") instanceof TupleSelector);
  assert.ok(DECODED.get("tuple-generic-action") instanceof TupleGenericAction);
});

test("JavaScript-made values decode in Python as the documented Python types", () => {
  const values = {
    bigint: 2n ** 70n,
    smallBigint: 5n,
    float: 2.5,
    negZero: -0,
    nan: Number.NaN,
    date: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
    aware: new VortexDateTime({ year: 2024, month: 1, day: 2, microsecond: 5, utcOffsetMicros: -3_600_000_000 }),
    naive: VortexDateTime.parse("2024-01-02T03:04:05.000001"),
    day: new VortexDate(2024, 2, 29),
    decimal: new VortexDecimal("-0.00"),
    bytes: new Uint8Array([104, 105]),
    tildeDict: { "~t": 1, ok: [true, null] },
    selector: new TupleSelector("jstest.Item", { group: "a" }),
    item: new JsTestItem({ id: 3, when: VortexDateTime.parse("2024-01-02T00:00:00+00:00") }),
    generic: new GenericTuple("jstest.Unregistered", { a: 1 }),
  };
  const input = Object.entries(values).map(([name, value]) => [name, encodeValue(value)]);
  const described = runPythonJson("codec_vectors.py", ["describe"], JSON.stringify(input));
  assert.deepEqual(described, {
    bigint: "1180591620717411303424",
    smallBigint: "5",
    float: "2.5",
    negZero: "-0.0",
    nan: "nan",
    date: "datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)",
    aware:
      "datetime.datetime(2024, 1, 2, 0, 0, 0, 5, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=82800)))",
    naive: "datetime.datetime(2024, 1, 2, 3, 4, 5, 1)",
    day: "datetime.date(2024, 2, 29)",
    decimal: "Decimal('-0.00')",
    bytes: "b'hi'",
    tildeDict: "{'~t': 1, 'ok': [True, None]}",
    selector: "TupleSelector('jstest.Item', {'group': 'a'})",
    item:
      "JsTestItem(id=3, name=None, value=None, when=datetime.datetime(2024, 1, 2, 0, 0, tzinfo=datetime.timezone.utc), extra={})",
    generic: "JsTestUnregistered(a=1, nested=None)",
  });
});

test("an integral float decodes as a number and is written back as an integer", () => {
  assert.equal(decodeValueText("2.0"), 2);
  assert.equal(encodeValue(decodeValueText("2.0")), "2");
});

test("a message round-trips header, body and the result outside the safe range", () => {
  const when = VortexDateTime.parse("2024-01-02T03:04:05.678901+00:00");
  const bytes = encodeMessage({
    filt: { key: "bench", sel: new TupleSelector("x", {}) },
    tuples: [new JsTestItem({ id: 0, name: "item", value: 0.1, when })],
    result: 2n ** 64n,
    date: when,
  });
  const text = new TextDecoder().decode(bytes);
  assert.equal(text.split("\n").length, 2);
  const message = decodeMessage(bytes, registry);
  assert.equal(message.result, 2n ** 64n);
  assert.ok(message.filt.sel instanceof TupleSelector);
  assert.ok(message.date.equals(when));
  const payload = decodePayload(message.body, registry);
  assert.equal(payload.tuples[0].value, 0.1);
  assert.ok(payload.tuples[0].when.equals(when));
});

test("a header-only message has no body", () => {
  const bytes = encodeMessage({ filt: { key: "k" }, result: { error: "timeout" } });
  assert.equal(bytes.indexOf(10), -1);
  assert.equal(decodeMessage(bytes).body, null);
});

test("malformed input is rejected with VortexDecodeError naming where", () => {
  const bad = {
    '{"~nope":1}': "unknown tag",
    '{"~int":"12a"}': "is not a decimal integer",
    '{"~f":"nan"}': "is not NaN",
    '{"~dt":"2024-01-02T03:04:05Z"}': "is not an ISO 8601 datetime",
    '{"~dt":"2024-02-30T03:04:05"}': "is not an ISO 8601 datetime",
    '{"~b64":"AAH"}': "is not valid base64",
    '{"a":{"~x":1,"b":2}}': "starts with '~' but the object is not a tag",
    '{"~t":"jstest.Item","nope":1}': "has no field(s)",
    '{"~esc":[1]}': "needs an object",
  };
  for (const [text, problem] of Object.entries(bad)) {
    assert.throws(() => decodeValueText(text, registry), (e) => {
      assert.ok(e instanceof VortexDecodeError, text);
      assert.ok(e.message.includes(problem), `${text}: ${e.message}`);
      return true;
    });
  }
  const deep = "[".repeat(101) + "]".repeat(101);
  assert.throws(() => decodeValueText(deep), /nests deeper than 100 levels/);
});

test("a bad path is reported from the root of the message", () => {
  const header = '{"v":1,"filt":{"when":[{"~dt":"bad"}]},"destVortexName":null,"destVortexUuid":null,"result":null,"date":null}';
  assert.throws(
    () => decodeMessage(new TextEncoder().encode(header)),
    (e) => e.where === "header.filt['when'][0]['~dt']",
  );
});

test("headers with another version or unknown keys are rejected", () => {
  const enc = (obj) => new TextEncoder().encode(JSON.stringify(obj));
  const base = { v: 1, filt: {}, destVortexName: null, destVortexUuid: null, result: null, date: null };
  assert.throws(() => decodeMessage(enc({ ...base, v: 2 })), /unsupported wire format version 2/);
  assert.throws(() => decodeMessage(enc({ ...base, extra: 1 })), /unknown key/);
  assert.throws(() => decodeMessage(enc({ ...base, filt: { "~t": "vortex.TupleSelector" } })), /filt must decode to a dict/);
  assert.throws(() => decodeMessage(new Uint8Array([0x7b, 0x0a, 0x41])), /body after the header/);
});

test("values the wire format cannot carry are refused with VortexEncodeError and a path", () => {
  assert.throws(() => encodeValue({ a: [new Map()] }), (e) => e instanceof VortexEncodeError && e.where === "value['a'][0]");
  assert.throws(() => encodeValue("\uD800"), /lone surrogate/);
  assert.throws(() => encodeValue(10n ** 4300n), /more than 4300 digits/);
  let deep = [];
  for (let i = 0; i < 100; i += 1) deep = [deep];
  assert.throws(() => encodeValue(deep), /nests deeper than 100 levels/);
  assert.throws(() => encodeValue(new Date(Number.NaN)), /Date cannot be written/);
});

test("a Python payload with ~r runs decodes to the same tuples, in order", () => {
  const { body } = runPythonJson("codec_vectors.py", ["payload"]);
  assert.ok(body.includes('"~r":"jstest.Item"'));
  const tuples = decodePayload(body, registry).tuples;
  assert.equal(tuples.length, 7);
  assert.ok(tuples.slice(0, 3).every((t) => t instanceof JsTestItem));
  assert.deepEqual(tuples.map((t) => t.id ?? t.a), [0, 1, 2, 1, undefined, 2, 3]);
  assert.equal(tuples[0].extra["~k"], 2n ** 60n);
  assert.equal(tuples[1].when, null);
  assert.ok(Number.isNaN(tuples[2].value));
  assert.deepEqual(tuples[4], { plain: [1, 2] });
  assert.ok(tuples[5] instanceof GenericTuple);
  assert.ok(tuples[5].nested instanceof JsTestItem);
  assert.deepEqual(tuples[5].nested.extra, {});
});

test("a run without some declared fields gives them their defaults", () => {
  const body = '{"v":1,"filt":{},"tuples":[{"~r":"jstest.Item","k":["id"],"v":[[4],[5]]}]}';
  const tuples = decodePayload(body, registry).tuples;
  assert.deepEqual(tuples.map((t) => [t.id, t.name, t.extra]), [[4, null, {}], [5, null, {}]]);
});

test("malformed runs are rejected with their location", () => {
  const bad = {
    "wrong row length": ['{"~r":"jstest.Item","k":["id"],"v":[[1],[2,3]]}', "payload.tuples[0].v[1]"],
    "undeclared key": ['{"~r":"jstest.Item","k":["nope"],"v":[[1]]}', "payload.tuples[0].v[0]"],
    "duplicate key": ['{"~r":"jstest.Item","k":["id","id"],"v":[[1,1]]}', "payload.tuples[0].k"],
    "rows not an array": ['{"~r":"jstest.Item","k":["id"],"v":{}}', "payload.tuples[0].v"],
    "type not a string": ['{"~r":1,"k":["id"],"v":[]}', "payload.tuples[0]"],
    "row not an array": ['{"~r":"jstest.Item","k":["id"],"v":[7]}', "payload.tuples[0].v[0]"],
    "extra key": ['{"~r":"jstest.Item","k":[],"v":[],"x":1}', "payload.tuples[0]"],
  };
  for (const [name, [run, where]] of Object.entries(bad)) {
    const body = `{"v":1,"filt":{},"tuples":[${run}]}`;
    assert.throws(
      () => decodePayload(body, registry),
      (e) => e instanceof VortexDecodeError && e.where === where,
      name,
    );
  }
});
