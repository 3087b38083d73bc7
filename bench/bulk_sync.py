"""Bulk data sync benchmark: a large chunked index compiled and synced to many devices.

Steps, each timed, all in one run:

1. **Generate** ``--rows`` rows (default 1,000,000, about 100 bytes of JSON each): keys
   ``a0000000``... in order, ``--rows-per-chunk`` consecutive keys per bucket (a range
   bucketing, as assets of one area are kept together).
2. **Compile**: queue every row into ``peek_platform.bulk_queue`` and compile the queue into
   chunks with the code the worker's task runs (``queueRows``, ``compileQueued``), on an
   embedded SQLite database in a temp dir (one process: no broker round trips).
3. **Field store**: write the compiled chunks into a field home's ``bulk_chunks.sqlite``
   with the code the field runs when it fetches from logic (``ChunkStoreSqlite.put``: one
   gzip per chunk), then start a real ``peek-field-service`` on that home (logins off, no
   logic running: it serves what it has on disk, as after a restart during an outage).
4. **One device**: a ``BulkSyncClient`` makes its first full sync (every chunk saved to its
   SQLite file): time and bytes received. Target: 10 s or less on loopback.
5. **Devices**: ``--devices`` simulated devices (default 100) sync at once through that one
   field service, from ``--device-procs`` processes; they check every chunk's hash and keep
   the hash index only (not the rows, which would take devices x data set on disk).
6. **1 % change**: ``--change-percent`` of the rows *in one contiguous key range* (one
   area's assets updated; a change spread over random rows would touch nearly every chunk,
   which no chunking can avoid) are changed, queued and compiled; the field takes the
   changed chunks (it is restarted to load them: without logic it does not poll), and the
   device of step 4 syncs again: chunks and bytes it downloads. Target: at most 2 % of the
   full sync's bytes.

The final line is JSON with every figure. ``--rows 20000`` runs in seconds (the smoke
test does that).

    python bench/bulk_sync.py [--rows 1000000] [--rows-per-chunk 1000] [--devices 100]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import harness

sys.path.insert(0, str(harness.REPO_ROOT))

import orjson

from peek_platform.bulk.client import BulkSyncClient
from peek_platform.bulk.queue_db import compileQueued, queueRows, readChunks
from peek_platform.bulk.store import ChunkStoreSqlite
from peek_platform.services import FIELD
from peek_platform.storage.platform_schema import (
    PLATFORM_SCHEMA,
    bulkChunkTable,
    bulkQueueTable,
    platformMetadata,
)
from peek_platform.testing.ServiceProcess import consoleScript
from peek_plugin_base.storage.DbEngine import createDbEngine

PLUGIN, INDEX = "peek_plugin_bench", "assets"
#: Rows queued per transaction.
QUEUE_BATCH = 50_000
#: Seconds the field service may take to start.
START_SECONDS = 120.0


def bucketOf(row: int, rowsPerChunk: int) -> str:
    """The bucket of row number ``row``: consecutive keys share a chunk."""
    return f"c{row // rowsPerChunk:05d}"


def makeRow(row: int, revision: int = 0) -> dict[str, Any]:
    """A generated asset of about 100 bytes of JSON."""
    return {
        "name": f"Pole {row:07d}",
        "kind": ("pole", "transformer", "switch", "cable")[row % 4],
        "x": round(144.9 + (row % 997) / 1000, 5),
        "y": round(-37.8 - (row % 991) / 1000, 5),
        "state": "in service" if revision == 0 else f"inspected rev {revision}",
        "feeder": f"F{row // 5000:04d}",
    }


def queueRange(engine: Any, rows: range, rowsPerChunk: int, revision: int) -> int:
    """Queue rows ``rows``; the JSON bytes of their values."""
    jsonBytes = 0
    for start in range(rows.start, rows.stop, QUEUE_BATCH):
        items = []
        for row in range(start, min(start + QUEUE_BATCH, rows.stop)):
            value = orjson.dumps(makeRow(row, revision)).decode()
            jsonBytes += len(value)
            items.append((f"a{row:07d}", bucketOf(row, rowsPerChunk), value))
        with engine.begin() as conn:
            queueRows(conn, PLUGIN, INDEX, items)
    return jsonBytes


def compileAll(engine: Any) -> dict[str, str | None]:
    """Compile the whole queue, transaction by transaction; every chunk changed."""
    changed: dict[str, str | None] = {}
    while True:
        with engine.begin() as conn:
            result = compileQueued(conn, PLUGIN, INDEX)
        changed.update(result.changed)
        if result.remaining == 0:
            return changed


def storeOnField(engine: Any, store: ChunkStoreSqlite, buckets: list[str]) -> None:
    """Copy chunks from logic's database into the field's store, as the field's sync does."""
    for start in range(0, len(buckets), 64):
        with engine.connect() as conn:
            found = readChunks(conn, PLUGIN, INDEX, buckets[start : start + 64])
        store.put((PLUGIN, INDEX), found)


def writeFieldConfig(home: Path, sitePort: int, deadPort: int) -> None:
    """A field config: logins off, loopback, a data exchange port where no logic listens."""
    home.mkdir(parents=True, exist_ok=True)
    site = FIELD.sites[0].name
    config = {
        "plugin": {"enabled": []},
        "dataExchange": {
            "secret": "bench-bulk-sync-secret-0123456789",
            "host": "127.0.0.1",
            "port": deadPort,
            "reconnectMaxSeconds": 30,
        },
        "httpServer": {site: {"sitePort": sitePort, "bindAddress": "127.0.0.1"}},
        "bulkSync": {"maxMegabytes": 100_000},
    }
    config["httpServer"][site]["requireLogin"] = False
    (home / "config.json").write_text(json.dumps(config), encoding="utf-8")


class FieldProcess:
    """A real field service process on ``home``; ``url`` once it has started."""

    def __init__(self, home: Path, homeRoot: Path) -> None:
        env = dict(os.environ, PEEK_HOME_ROOT=str(homeRoot), PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(harness.REPO_ROOT), env.get("PYTHONPATH")])
        )
        self.process = subprocess.Popen(
            [consoleScript(FIELD.command), "--home", str(home)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.url = ""
        deadline = time.monotonic() + START_SECONDS
        assert self.process.stdout is not None
        for line in self.process.stdout:
            found = re.search(r"field site listening on (http://[\d.]+:\d+)/", line)
            if found:
                self.url = found.group(1)
            if f"{FIELD.vortexName} started: " in line and self.url:
                break
            if time.monotonic() > deadline:
                break
        if not self.url:
            self.stop()
            raise RuntimeError("the field service did not start")
        # Keep reading its output so its pipe never fills.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit."""
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def syncDevices(url: str, directory: str, names: list[str]) -> list[dict[str, Any]]:
    """Sync devices ``names`` at once (threads of this process); their results."""

    def one(name: str) -> dict[str, Any]:
        client = BulkSyncClient(
            url, PLUGIN, INDEX, Path(directory) / f"{name}.sqlite", keepBodies=False, timeout=300
        )
        try:
            started = time.perf_counter()
            result = client.sync()
            return {
                "seconds": time.perf_counter() - started,
                "bytes": result.bytesReceived,
                "chunks": result.downloaded,
            }
        finally:
            client.close()

    with ThreadPoolExecutor(len(names)) as pool:
        return list(pool.map(one, names))


def main(argv: list[str] | None = None) -> int:
    """Run every step and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rows-per-chunk", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--device-procs", type=int, default=4)
    parser.add_argument("--change-percent", type=float, default=1.0)
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"rows": args.rows, "rows_per_chunk": args.rows_per_chunk}
    tmp = Path(tempfile.mkdtemp(prefix="peek-bulk-bench-"))
    field: FieldProcess | None = None
    try:
        (tmp / "logic").mkdir()
        engine = createDbEngine(
            f"sqlite:///{tmp / 'logic' / 'peek.sqlite'}",
            attachSchemas=[PLATFORM_SCHEMA],
            sqliteBegin="IMMEDIATE",
        )
        platformMetadata.create_all(engine, tables=[bulkQueueTable, bulkChunkTable])

        started = time.perf_counter()
        jsonBytes = queueRange(engine, range(args.rows), args.rows_per_chunk, revision=0)
        figures["queue_s"] = time.perf_counter() - started
        started = time.perf_counter()
        chunks = compileAll(engine)
        figures["compile_s"] = time.perf_counter() - started
        figures["json_mb"] = jsonBytes / 1e6
        figures["chunks"] = len(chunks)
        print(
            f"data set: {args.rows:,} rows, {jsonBytes / 1e6:.1f} MB as JSON,"
            f" {len(chunks):,} chunks"
        )
        print(f"queue {figures['queue_s']:.1f} s, compile {figures['compile_s']:.1f} s")

        fieldHome = tmp / FIELD.homeDirName
        sitePort, deadPort = harness.freePort(), harness.freePort()
        writeFieldConfig(fieldHome, sitePort, deadPort)
        store = ChunkStoreSqlite(fieldHome / "bulk_chunks.sqlite", 10**12)
        started = time.perf_counter()
        storeOnField(engine, store, sorted(chunks))
        figures["field_store_s"] = time.perf_counter() - started
        print(f"field store (gzip once per chunk): {figures['field_store_s']:.1f} s")
        store.close()
        field = FieldProcess(fieldHome, tmp)

        devices = tmp / "devices"
        devices.mkdir()
        phone = BulkSyncClient(field.url, PLUGIN, INDEX, devices / "phone.sqlite", timeout=300)
        started = time.perf_counter()
        first = phone.sync()
        figures["first_sync_s"] = time.perf_counter() - started
        figures["first_sync_bytes"] = first.bytesReceived
        figures["first_sync_chunks"] = first.downloaded
        print(
            f"first full sync of one device: {figures['first_sync_s']:.2f} s,"
            f" {first.bytesReceived / 1e6:.2f} MB received ({first.downloaded} chunks,"
            f" gzip), target <= 10 s"
        )

        names = [f"device{n:03d}" for n in range(args.devices)]
        procs = max(1, min(args.device_procs, len(names)))
        groups = [names[n::procs] for n in range(procs)]
        started = time.perf_counter()
        with ProcessPoolExecutor(procs) as pool:
            results = [
                r
                for part in pool.map(
                    syncDevices, [field.url] * procs, [str(devices)] * procs, groups
                )
                for r in part
            ]
        figures["devices"] = args.devices
        figures["devices_s"] = time.perf_counter() - started
        figures["devices_bytes"] = sum(r["bytes"] for r in results)
        assert all(r["chunks"] == len(chunks) for r in results), "a device missed chunks"
        print(
            f"{args.devices} devices at once: {figures['devices_s']:.1f} s,"
            f" {figures['devices_bytes'] / 1e6:.0f} MB sent by the field"
            f" (slowest device {max(r['seconds'] for r in results):.1f} s)"
        )

        changeRows = max(1, int(args.rows * args.change_percent / 100))
        changeStart = args.rows // 2
        started = time.perf_counter()
        queueRange(engine, range(changeStart, changeStart + changeRows), args.rows_per_chunk, 1)
        changed = compileAll(engine)
        figures["change_compile_s"] = time.perf_counter() - started
        field.stop()
        field = None
        store = ChunkStoreSqlite(fieldHome / "bulk_chunks.sqlite", 10**12)
        storeOnField(engine, store, sorted(changed))
        store.close()
        field = FieldProcess(fieldHome, tmp)
        phone.close()
        phone = BulkSyncClient(field.url, PLUGIN, INDEX, devices / "phone.sqlite", timeout=300)
        started = time.perf_counter()
        after = phone.sync()
        figures["change_rows"] = changeRows
        figures["change_sync_s"] = time.perf_counter() - started
        figures["change_sync_chunks"] = after.downloaded
        figures["change_sync_bytes"] = after.bytesReceived
        figures["change_ratio"] = after.bytesReceived / first.bytesReceived
        phone.close()
        print(
            f"{args.change_percent:g}% change ({changeRows:,} rows in one contiguous key range,"
            f" {len(changed)} chunks recompiled in {figures['change_compile_s']:.1f} s):"
            f" the device downloads {after.downloaded} chunks, {after.bytesReceived / 1e3:.0f} kB"
            f" = {figures['change_ratio'] * 100:.2f}% of the full sync, target <= 2%"
        )
        print(json.dumps({"bench": "bulk_sync", **figures}))
        return 0
    finally:
        if field is not None:
            field.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
