// The noop plugin's tuples in JavaScript: same wire names and fields as the Python classes.
//
// A received tuple must declare every field the service sends, so NoopItemTuple lists the
// columns of the NoopItem table (peek_plugin_noop/_private/storage/NoopItem.py).

import { Tuple, TupleActionABC, registerTupleType } from "/vortex/js/index.js";

/** The vortex names and filt of the noop plugin (as in _private/PluginNames.py). */
export const noopFilt = { plugin: "peek_plugin_noop" };
export const noopObservableName = "peek_plugin_noop";
export const noopActionProcessorName = "peek_plugin_noop";
/** The chunked index of the noop items that devices keep a copy of (bulk data sync). */
export const noopBulkIndexName = "items";
const noopTuplePrefix = "peek_plugin_noop.";

/** One row of the NoopItem table; `lastChangedBy` is a user name, null for a service. */
export class NoopItemTuple extends Tuple {
  static tupleType = `${noopTuplePrefix}NoopItemTuple`;
  static tupleFields = { id: null, name: "", value: 0, lastChangedBy: null };
}

/** Add `delta` steps to item `itemId`. */
export class NoopIncrementActionTuple extends TupleActionABC {
  static tupleType = `${noopTuplePrefix}NoopIncrementActionTuple`;
  static tupleFields = { itemId: null, delta: 1 };
}

/** Toggle the capitals of item `itemId`'s name. */
export class NoopToggleCapsActionTuple extends TupleActionABC {
  static tupleType = `${noopTuplePrefix}NoopToggleCapsActionTuple`;
  static tupleFields = { itemId: null };
}

registerTupleType(NoopItemTuple);
registerTupleType(NoopIncrementActionTuple);
registerTupleType(NoopToggleCapsActionTuple);
