"""bench/bulk_sync.py: a small run compiles, serves through a real field service and syncs.

A smoke test only: the figures are printed, never asserted as times (the machine is
shared). What is checked is that every step ran and counted what it should: every chunk
reached each device, and the 1 % change (one contiguous key range inside one chunk) cost
the device exactly one chunk.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH = REPO_ROOT / "bench" / "bulk_sync.py"


def test_small_run_syncs_every_chunk_and_a_one_percent_change_costs_one_chunk() -> None:
    """``--rows 20000`` (20 chunks) with 3 devices exits 0; its JSON line shows 20 chunks
    in the first sync and one chunk, fewer bytes than a tenth of it, after the change."""
    result = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "20000", "--devices", "3", "--device-procs", "1"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "bulk_sync"
    assert (figures["chunks"], figures["first_sync_chunks"]) == (20, 20)
    assert figures["devices"] == 3 and figures["devices_bytes"] > 2 * figures["first_sync_bytes"]
    assert (figures["change_rows"], figures["change_sync_chunks"]) == (200, 1)
    assert figures["change_sync_bytes"] < figures["first_sync_bytes"] / 10
    assert "one contiguous key range" in result.stdout
