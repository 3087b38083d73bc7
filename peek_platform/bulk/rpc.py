"""The calls field and office make to logic for chunked indexes (only they may call them).

``bulkState(known)``: ``known`` maps ``"plugin/index"`` to the version the caller has; the
answer maps every index logic publishes to ``None`` when that version is current, else to
``{"version": v, "hashes": {bucket: hash}}``. Versions carry a random start id of the
logic process, so a restarted logic never matches an old one.

``bulkChunks(plugin, index, buckets)``: ``{bucket: [hash, body text]}`` of the chunks that
exist (read from the database in a thread on logic).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from peek_platform.services import FIELD, LOGIC, OFFICE
from vortex.rpc.RPC import vortexRPC

#: Seconds a caller waits for logic's answer.
BULK_RPC_TIMEOUT_SECONDS = 60.0
#: Body bytes one ``bulkChunks`` answer carries at most (more chunks: more calls); well
#: under the vortex message limit.
CHUNKS_PER_CALL_BYTES = 4 * 1024 * 1024

#: ``state(known) -> answer`` on logic.
StateFunc = Callable[[dict[str, str]], dict[str, Any]]
#: ``chunks(plugin, index, buckets) -> {bucket: [hash, body text]}`` on logic (blocking).
ChunksFunc = Callable[[str, str, list[str]], dict[str, list[str]]]


def indexKey(pluginName: str, indexName: str) -> str:
    """The ``"plugin/index"`` key of an index in ``bulkState``."""
    return f"{pluginName}/{indexName}"


def _state(state: StateFunc, known: dict) -> dict[str, Any]:
    return state({str(k): str(v) for k, v in dict(known).items()})


def _chunks(chunks: ChunksFunc, pluginName: str, indexName: str, buckets: list) -> dict:
    return chunks(str(pluginName), str(indexName), [str(b) for b in buckets])


def bulkStateRpc() -> Any:
    """A fresh handle on logic's ``bulkState`` RPC."""
    return vortexRPC(
        LOGIC.vortexName,
        timeoutSeconds=BULK_RPC_TIMEOUT_SECONDS,
        acceptOnlyFromVortex=(FIELD.vortexName, OFFICE.vortexName),
    )(_state)


def bulkChunksRpc() -> Any:
    """A fresh handle on logic's ``bulkChunks`` RPC (runs in a thread on logic)."""
    return vortexRPC(
        LOGIC.vortexName,
        timeoutSeconds=BULK_RPC_TIMEOUT_SECONDS,
        acceptOnlyFromVortex=(FIELD.vortexName, OFFICE.vortexName),
        deferToThread=True,
    )(_chunks)
