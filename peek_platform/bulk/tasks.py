"""The worker task compiling a chunked index's queued rows (imported by every worker).

Arguments and result are JSON. The task may run twice (at-least-once delivery): a second
run finds the queue already compiled, or compiles the same values again to the same hashes.
"""

from __future__ import annotations

from typing import Any

from peek_platform.bulk.queue_db import compileQueued
from peek_plugin_base.worker import CeleryDbConn
from peek_plugin_base.worker.CeleryApp import celeryApp

#: The module the worker's Celery child always imports, besides the plugins' task modules.
BULK_TASK_MODULE = __name__


@celeryApp.task(bind=True)
def compileChunkedIndex(self: Any, pluginName: str, indexName: str) -> dict[str, Any]:
    """Compile one batch of the index's queued rows; ``{"changed": chunks changed or removed,
    "rows": rows compiled, "remaining": rows still queued}`` (logic reads the hashes back)."""
    with CeleryDbConn.getDbEngine().begin() as conn:
        result = compileQueued(conn, str(pluginName), str(indexName))
    return {
        "changed": len(result.changed),
        "rows": result.rowsCompiled,
        "remaining": result.remaining,
    }
