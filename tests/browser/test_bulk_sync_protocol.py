"""The device side of bulk data sync (``/static/bulk-sync.mjs``) in real Chromium, against a
small HTTP server in this test that speaks the ``/bulk/`` protocol of the field and office
services: gzip-encoded chunks decoded by the browser, only changed chunks downloaded, a
sync cut off by dropped connections resuming where it stopped, 409 for a chunk that changed
meanwhile, and a device that is offline failing fast while its copy still answers queries.

The server is ours, not the field service, so each case can change the data or break the
connection at an exact point; the noop page against the real services is in
``test_bulk_sync_page.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from peek_platform.web.templates import APP_ASSETS_DIR

pytestmark = pytest.mark.integration

PLUGIN = "peek_plugin_btest"
INDEX = "rows"
#: The cookie standing for a valid login session (the services' guard answers 401 without).
SESSION_COOKIE = {"name": "session", "value": "valid"}
BUCKETS = 50
ROWS_PER_BUCKET = 20


def _dataSet() -> dict[str, dict[str, dict]]:
    """``BUCKETS`` buckets ``b00``... of ``ROWS_PER_BUCKET`` rows keyed ``r<bucket>-<n>``."""
    return {
        f"b{b:02d}": {
            f"r{b:02d}-{n}": {"name": f"row {b}-{n}", "value": b * 100 + n, "text": "x" * 200}
            for n in range(ROWS_PER_BUCKET)
        }
        for b in range(BUCKETS)
    }


def _chunkBody(bucket: str, rows: dict) -> tuple[str, bytes]:
    body = json.dumps(rows, sort_keys=True).encode()
    return hashlib.sha256(body).hexdigest()[:20], body


@dataclass
class BulkServer:
    """The ``/bulk/`` protocol over one index, plus ``/`` and ``/static/bulk-sync.mjs``.

    ``answered`` logs each chunk answer as ``(bucket, status, content-encoding, bytes sent)``;
    ``dropAfter`` (a count of chunk answers) makes every later chunk request end with the
    connection closed and no answer, as when the link drops; ``changeAtFirstRequest`` names a
    bucket whose data changes just before its first chunk request is answered."""

    buckets: dict[str, dict[str, dict]] = field(default_factory=_dataSet)
    answered: list[tuple[str, int, str, int]] = field(default_factory=list)
    hashRequests: int = 0
    dropAfter: int | None = None
    #: Chunk requests let through to be answered, counted before they are answered, so
    #: concurrent requests cannot pass ``dropAfter`` together.
    granted: int = 0
    changeAtFirstRequest: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hashes(self) -> dict[str, str]:
        return {bucket: _chunkBody(bucket, rows)[0] for bucket, rows in self.buckets.items()}

    def chunkBuckets(self) -> list[str]:
        """The buckets answered 200, in order."""
        return [bucket for bucket, status, _, _ in self.answered if status == 200]


def _handler(server: BulkServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads ``server.answered`` instead."""

        #: The Content-Encoding of the last answer ("" for none).
        sentEncoding = ""

        def _send(self, status: int, body: bytes, contentType: str, **headers: str) -> int:
            """Answer ``body`` (gzip-encoded when it is a 200 and the browser accepts gzip);
            the number of body bytes sent."""
            if "gzip" in (self.headers.get("Accept-Encoding") or "") and status == 200:
                body = gzip.compress(body)
                headers["Content-Encoding"] = self.sentEncoding = "gzip"
            self.send_response(status)
            self.send_header("Content-Type", contentType)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)
            return len(body)

        def _json(self, status: int, document: dict, **headers: str) -> int:
            return self._send(status, json.dumps(document).encode(), "application/json", **headers)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/":
                self._send(200, b"<!doctype html><title>bulk sync</title>", "text/html")
                return
            if url.path == "/static/bulk-sync.mjs":
                script = (APP_ASSETS_DIR / "bulk-sync.mjs").read_bytes()
                self._send(200, script, "text/javascript")
                return
            parts = [unquote(part) for part in url.path.split("/")]
            if parts[:2] != ["", "bulk"] or len(parts) < 5:
                self._json(404, {"error": "not found"})
                return
            if f"{SESSION_COOKIE['name']}={SESSION_COOKIE['value']}" not in (
                self.headers.get("Cookie") or ""
            ):
                self._json(401, {"error": "log in at /login first"})
                return
            if parts[2:4] != [PLUGIN, INDEX]:
                self._json(404, {"error": "no such index"})
                return
            if parts[4] == "hashes":
                with server.lock:
                    server.hashRequests += 1
                    chunks = server.hashes()
                self._json(200, {"index": INDEX, "plugin": PLUGIN, "chunks": chunks})
                return
            self._chunk(parts[5], parse_qs(url.query).get("hash", [None])[0])

        def _chunk(self, bucket: str, wanted: str | None) -> None:
            with server.lock:
                if server.dropAfter is not None and server.granted >= server.dropAfter:
                    server.answered.append((bucket, 0, "", 0))
                    self.close_connection = True
                    return  # no answer at all: the browser sees the connection drop
                server.granted += 1
                if bucket == server.changeAtFirstRequest:
                    server.changeAtFirstRequest = None
                    first = next(iter(server.buckets[bucket]))
                    server.buckets[bucket][first]["value"] = -1
                rows = server.buckets.get(bucket)
                chunk = None if rows is None else _chunkBody(bucket, rows)
            if chunk is None:
                sent, status = self._json(404, {"error": f"no chunk {bucket}"}), 404
            elif wanted != chunk[0]:
                sent, status = self._json(409, {"error": "the chunk changed"}), 409
            else:
                hash, body = chunk
                document = b'{"bucket": %s, "hash": "%s", "rows": %s}' % (
                    json.dumps(bucket).encode(),
                    hash.encode(),
                    body,
                )
                sent, status = self._send(200, document, "application/json", ETag=f'"{hash}"'), 200
            with server.lock:
                server.answered.append((bucket, status, self.sentEncoding, sent))

    return Handler


@pytest.fixture
def bulkServer() -> Iterator[tuple[BulkServer, str]]:
    """A fresh ``BulkServer`` listening on a free port of 127.0.0.1, and its base URL."""
    state = BulkServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="bulk-test-server", daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def device(browser, bulkServer):
    """A page of the server's origin with the session cookie and ``window.bulk``, a
    ``ChunkedIndexSync`` of the index for user ``u1`` (in its own browser context)."""
    _, base = bulkServer
    context = browser.new_context()
    context.add_cookies([{**SESSION_COOKIE, "url": base}])
    page = context.new_page()
    page.goto(base + "/")
    page.evaluate(
        """async ([plugin, index]) => {
          const { ChunkedIndexSync } = await import("/static/bulk-sync.mjs");
          window.bulk = new ChunkedIndexSync(plugin, index, { userId: "u1" });
        }""",
        [PLUGIN, INDEX],
    )
    try:
        yield context, page
    finally:
        context.close()


SYNC_JS = "() => window.bulk.sync()"


def test_sync_decodes_gzip_chunks_and_then_downloads_only_the_changed_one(device, bulkServer):
    """A first sync stores every gzip-encoded chunk (rows found by key); after one row
    changes on the service, the next sync downloads only that row's chunk."""
    server, _ = bulkServer
    _, page = device
    first = page.evaluate(SYNC_JS)
    assert first["status"] == "synced", first
    assert (first["done"], first["total"], first["rows"]) == (BUCKETS, BUCKETS, BUCKETS * 20)
    assert sorted(server.chunkBuckets()) == sorted(server.buckets)
    assert {encoding for _, _, encoding, _ in server.answered} == {"gzip"}
    assert page.evaluate("() => window.bulk.get('r07-3')")["value"] == 703
    fullBytes = sum(sent for _, _, _, sent in server.answered)

    server.answered.clear()
    server.buckets["b31"]["r31-5"]["value"] = 5
    second = page.evaluate(SYNC_JS)
    assert second["status"] == "synced", second
    assert second["downloaded"] == 1
    assert server.chunkBuckets() == ["b31"]
    changedBytes = sum(sent for _, _, _, sent in server.answered)
    assert changedBytes * BUCKETS <= fullBytes * 1.5
    assert page.evaluate("() => window.bulk.get('r31-5')")["value"] == 5


def test_sync_cut_off_by_dropped_connections_resumes_with_the_chunks_not_saved(device, bulkServer):
    """When the connection drops after 10 chunks the sync ends "offline" with those 10
    saved; the next sync downloads the other 40 and none of the 10 again."""
    server, _ = bulkServer
    _, page = device
    server.dropAfter = 10
    cut = page.evaluate(SYNC_JS)
    assert cut["status"] == "offline", cut
    saved = server.chunkBuckets()
    assert len(saved) == 10
    assert page.evaluate("() => window.bulk.info()")["chunks"] == 10

    server.dropAfter = None
    server.answered.clear()
    server.granted = 0
    resumed = page.evaluate(SYNC_JS)
    assert resumed["status"] == "synced", resumed
    assert resumed["downloaded"] == BUCKETS - 10
    assert not set(server.chunkBuckets()) & set(saved)
    assert page.evaluate("() => window.bulk.info()")["rows"] == BUCKETS * 20


def test_a_chunk_changed_during_the_sync_is_fetched_again_after_409(device, bulkServer):
    """A chunk recompiled between the hashes and its download answers 409; the sync reads
    the hashes again and stores the new chunk."""
    server, _ = bulkServer
    _, page = device
    server.changeAtFirstRequest = "b12"
    result = page.evaluate(SYNC_JS)
    assert result["status"] == "synced", result
    assert [status for bucket, status, _, _ in server.answered if bucket == "b12"] == [409, 200]
    assert server.hashRequests == 2
    assert page.evaluate("() => window.bulk.get('r12-0')")["value"] == -1


def test_offline_sync_fails_fast_and_the_copy_still_answers(device, bulkServer):
    """With the browser offline a sync ends "offline" without a request, and get and query
    answer from the copy in IndexedDB; without a session the service's 401 is "login-required"."""
    server, _ = bulkServer
    context, page = device
    assert page.evaluate(SYNC_JS)["status"] == "synced"
    requests = server.hashRequests
    context.set_offline(True)
    offline = page.evaluate(SYNC_JS)
    assert (offline["status"], offline["reason"]) == ("offline", "this device is offline")
    assert offline["rows"] == BUCKETS * 20
    assert offline["lastSyncedAt"] is not None
    assert server.hashRequests == requests
    found = page.evaluate("() => window.bulk.query((row) => row.value % 100 === 19)")
    assert len(found) == BUCKETS
    assert page.evaluate("() => window.bulk.get('r49-19')")["value"] == 4919

    context.set_offline(False)
    context.clear_cookies()
    assert page.evaluate(SYNC_JS)["status"] == "login-required"
