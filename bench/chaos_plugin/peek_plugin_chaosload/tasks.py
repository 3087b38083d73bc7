"""The bench's Celery task: it records each run it finishes in the bench's directory."""

import json
import os
import time

from peek_plugin_base.worker.CeleryApp import celeryApp

#: How long one task works, so a killed pool process sometimes holds a running task.
TASK_SECONDS = 0.1


@celeryApp.task(bind=True)
def chaosTask(self, taskId: str) -> str:
    """Sleep briefly, then append ``{"id": taskId}`` to ``$CHAOS_DIR/ran.jsonl``."""
    time.sleep(TASK_SECONDS)
    line = json.dumps({"id": taskId, "pid": os.getpid(), "t": time.time()}) + "\n"
    # One short O_APPEND write per run: lines from several processes never interleave.
    path = os.path.join(os.environ["CHAOS_DIR"], "ran.jsonl")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return taskId
