/**
 * Tuples: data classes the vortex serialises by type name, mirroring vortex.Tuple.
 *
 * A tuple class declares its wire name and fields as statics:
 *
 *   class StringIntTuple extends Tuple {
 *     static tupleType = "peek_plugin_tutorial.StringIntTuple";
 *     static tupleFields = { string1: null, int1: 0, items: () => [] };
 *   }
 *   registerTupleType(StringIntTuple);
 *
 * A field default that is a function is called for each new tuple (like Python's
 * `TupleField(defaultValue=list)`). Received tuples of registered types are built as that
 * class; unregistered types arrive as GenericTuple objects carrying their type name.
 */

import { VortexDateTime } from "./values.js";

const SPECS = new WeakMap();

/** A fresh default value: functions are called, arrays and plain objects copied. */
export function makeDefault(defaultValue) {
  if (typeof defaultValue === "function") return defaultValue();
  if (Array.isArray(defaultValue)) return [...defaultValue];
  if (defaultValue !== null && typeof defaultValue === "object") {
    if (Object.getPrototypeOf(defaultValue) === Object.prototype) return { ...defaultValue };
  }
  return defaultValue;
}

/** The declared fields of a tuple class (base classes first) and their defaults. */
export function tupleSpec(cls) {
  let spec = SPECS.get(cls);
  if (spec !== undefined) return spec;
  const chain = [];
  for (let klass = cls; klass && klass !== Function.prototype; klass = Object.getPrototypeOf(klass)) {
    chain.unshift(klass);
  }
  const defaults = new Map();
  for (const klass of chain) {
    if (!Object.hasOwn(klass, "tupleFields")) continue;
    const fields = klass.tupleFields;
    const entries = Array.isArray(fields)
      ? fields.map((name) => [name, null])
      : Object.entries(fields);
    for (const [name, defaultValue] of entries) {
      if (name.startsWith("~")) {
        throw new TypeError(`${klass.name}: tuple field names cannot start with "~" (${name})`);
      }
      defaults.delete(name);
      defaults.set(name, defaultValue);
    }
  }
  spec = { cls, fieldNames: [...defaults.keys()], defaults };
  SPECS.set(cls, spec);
  return spec;
}

/** Base of every tuple; `new MyTuple({field: value})` fills the rest with defaults. */
export class Tuple {
  /** The wire name (Python `__tupleType__`); set by each registered subclass. */
  static tupleType = null;

  /** Declared fields: `{name: default}` or an array of names (defaults null). */
  static tupleFields = {};

  constructor(values = {}) {
    const spec = tupleSpec(this.constructor);
    for (const name of Object.keys(values)) {
      if (!spec.defaults.has(name)) {
        throw new TypeError(
          `${this.constructor.name} has no tuple field ${JSON.stringify(name)};` +
            ` declared fields are ${JSON.stringify(spec.fieldNames)}`,
        );
      }
    }
    for (const [name, defaultValue] of spec.defaults) {
      this[name] = Object.hasOwn(values, name) ? values[name] : makeDefault(defaultValue);
    }
  }

  /** The registered wire name of this tuple's type. */
  tupleName() {
    return this.constructor.tupleType;
  }

  /** The wire name of a tuple class. */
  static tupleName() {
    return this.tupleType;
  }
}

/** A received tuple whose type has no registered class here: its name plus its fields. */
export class GenericTuple extends Tuple {
  /**
   * @param {string} tupleType the wire name
   * @param {object} fields field values (own enumerable properties of the tuple)
   */
  constructor(tupleType, fields = {}) {
    super();
    Object.defineProperty(this, "_tupleType", { value: tupleType, enumerable: false });
    for (const [name, value] of Object.entries(fields)) {
      if (name.startsWith("~")) {
        throw new TypeError(`tuple field names cannot start with "~" (${name})`);
      }
      Object.defineProperty(this, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }

  tupleName() {
    return this._tupleType;
  }
}

/** Maps wire names to tuple classes; the decoder builds registered classes only. */
export class TupleRegistry {
  constructor() {
    this._byName = new Map();
  }

  /** Register cls under its static `tupleType`; registering the same class again is fine. */
  register(cls) {
    if (typeof cls !== "function" || !(cls.prototype instanceof Tuple)) {
      throw new TypeError(`registerTupleType needs a subclass of Tuple, got ${cls}`);
    }
    const name = Object.hasOwn(cls, "tupleType") ? cls.tupleType : null;
    if (typeof name !== "string" || name === "") {
      throw new TypeError(`${cls.name} must set static tupleType to a non-empty string`);
    }
    const existing = this._byName.get(name);
    if (existing !== undefined && existing !== cls) {
      throw new TypeError(
        `tuple type ${JSON.stringify(name)} is already registered by ${existing.name};` +
          ` ${cls.name} must use another tupleType`,
      );
    }
    tupleSpec(cls);
    this._byName.set(name, cls);
    return cls;
  }

  /** The class registered under name, or undefined. */
  get(name) {
    return this._byName.get(name);
  }

  /** A registry holding this one's classes, for adding page-local ones without sharing. */
  copy() {
    const other = new TupleRegistry();
    for (const cls of this._byName.values()) other.register(cls);
    return other;
  }
}

/** The registry used when a client is not given one; pages register their classes here. */
export const defaultTupleRegistry = new TupleRegistry();

/** Register a tuple class in the default registry (returns the class, for chaining). */
export function registerTupleType(cls, registry = defaultTupleRegistry) {
  return registry.register(cls);
}

/** Selects tuples of type `name` matching `selector` (Python vortex.TupleSelector). */
export class TupleSelector extends Tuple {
  static tupleType = "vortex.TupleSelector";
  static tupleFields = { name: null, selector: () => ({}) };

  constructor(name = null, selector = {}) {
    super({ name, selector });
  }
}

function newUuid() {
  return globalThis.crypto.randomUUID();
}

/** Base of action tuples: a unique `uuid` and the `dateTime` the action was made. */
export class TupleActionABC extends Tuple {
  static tupleFields = { uuid: newUuid, dateTime: () => VortexDateTime.now() };
}

/** A generic action (e.g. a button press): a `key` naming it plus free-form `data`. */
export class TupleGenericAction extends TupleActionABC {
  static tupleType = "vortex.TupleGenericAction";
  static tupleFields = { key: null, data: null };
}

/** A data update: the `tupleSelector` of the changed data and the `tupleChanges` made. */
export class TupleUpdateAction extends TupleActionABC {
  static tupleType = "vortex.TupleUpdateAction";
  static tupleFields = { tupleSelector: null, tupleChanges: () => [] };
}

for (const cls of [TupleSelector, TupleGenericAction, TupleUpdateAction]) {
  defaultTupleRegistry.register(cls);
}
