/**
 * The vortex browser client: import everything a page needs from here.
 *
 *   import { VortexClient, TupleSelector } from "/vortex/js/index.js";
 *
 * Usage guide: docs/vortex/browser-client.rst.
 */

export { Backoff } from "./backoff.js";
export {
  ChunkedMessageRefusedError,
  ReassemblyBudget,
  defaultReassemblyBudget,
} from "./chunking.js";
export { DEFAULT_TIMEOUTS, VortexClient } from "./client.js";
export {
  VortexCodecError,
  VortexDecodeError,
  VortexEncodeError,
  VortexNotConnectedError,
  VortexRemoteError,
  VortexTimeoutError,
} from "./errors.js";
export {
  IndexedDbQueueStore,
  LocalStorageQueueStore,
  MemoryQueueStore,
  OfflineActionQueue,
  defaultQueueStore,
} from "./offlineQueue.js";
export {
  DEFAULT_STORAGE_BUDGET_BYTES,
  TupleDataOfflineObserver,
  TupleOfflineStorage,
  TupleOfflineStorageNameService,
  ageText,
  dataTimeText,
  deleteUserOfflineStorage,
  entriesToEvict,
  isQuotaError,
  offlineDatabaseName,
  tupleSelectorKey,
} from "./offlineStorage.js";
export { VortexTransport, resolveVortexUrl } from "./transport.js";
export {
  GenericTuple,
  Tuple,
  TupleActionABC,
  TupleGenericAction,
  TupleRegistry,
  TupleSelector,
  TupleUpdateAction,
  defaultTupleRegistry,
  registerTupleType,
} from "./tuples.js";
export { VortexDate, VortexDateTime, VortexDecimal } from "./values.js";
export {
  decodeMessage,
  decodePayload,
  decodeValueText,
  encodeMessage,
  encodeValue,
  toSortedJson,
} from "./wire.js";
