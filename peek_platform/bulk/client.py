"""A device-side bulk sync client in Python (tests, the bench, scripts).

It keeps its copy of one chunked index in a SQLite file: the bucket, hash and body of each
chunk, saved as each arrives. ``sync()`` fetches the site's hashes and downloads only the
chunks whose hash differs from the saved one (``concurrency`` at a time, each on a kept-alive
connection of its own), so a sync cut short (the link dropped, the service stopped) resumes
where it stopped. Bytes received are counted as they come off the
wire (gzip-compressed bodies as sent). The browser's client (``bulk-sync.mjs``) follows the
same protocol (``docs/dev/bulk-sync.rst``).
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from peek_platform.bulk.chunks import decodeRows, verifiedRowsBytes

#: How often one ``sync`` refetches the hashes when chunks changed under it (409).
MAX_HASH_ROUNDS = 5


class BulkSyncError(Exception):
    """The site answered something other than the protocol allows (status and message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


@dataclass
class SyncResult:
    """What one ``sync`` did."""

    #: Chunks downloaded and saved.
    downloaded: int = 0
    #: Chunks already saved with the current hash (not downloaded).
    upToDate: int = 0
    #: Saved chunks the site no longer has, deleted.
    removed: int = 0
    #: Bytes received by this sync (response bodies as sent, plus status and headers).
    bytesReceived: int = 0
    #: Requests made.
    requests: int = 0


class BulkSyncClient:
    """One device's copy of ``pluginName``'s ``indexName`` from the site at ``baseUrl``."""

    def __init__(
        self,
        baseUrl: str,
        pluginName: str,
        indexName: str,
        dbPath: Path,
        *,
        timeout: float = 30.0,
        onSaved: Callable[[str], None] | None = None,
        cookies: dict[str, str] | None = None,
        keepBodies: bool = True,
        concurrency: int = 4,
    ) -> None:
        url = urllib.parse.urlsplit(baseUrl)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) site address: {baseUrl!r}")
        self.baseUrl = baseUrl.rstrip("/")
        self._url = url
        self.pluginName = pluginName
        self.indexName = indexName
        self._timeout = timeout
        #: Called with each bucket once its chunk is saved (tests use it to cut a sync short).
        self.onSaved = onSaved
        #: The site's cookies (the login session), by name; pass them on to keep a login.
        self.cookies: dict[str, str] = dict(cookies or {})
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        #: Chunks downloaded at once, each on its own kept-alive connection.
        self.concurrency = concurrency
        self._local = threading.local()
        self._conns: list[http.client.HTTPConnection] = []
        #: Guards the local file, the byte count, the cookies and the connection list.
        self._lock = threading.Lock()
        self._db = sqlite3.connect(dbPath, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS chunk (bucket TEXT PRIMARY KEY, hash TEXT NOT NULL,"
            " body BLOB NOT NULL) WITHOUT ROWID"
        )
        #: False: keep only each chunk's hash, not its rows (simulated devices in the bench;
        #: ``rows()`` then finds nothing).
        self.keepBodies = keepBodies
        #: Bytes received over this client's life.
        self.bytesReceived = 0

    # ---- HTTP -------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        """This thread's kept-alive connection."""
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._url.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(self._url.hostname or "", self._url.port, timeout=self._timeout)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection and the local file."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._db.close()

    def _disconnect(self) -> None:
        """Close this thread's connection (the next request opens a new one)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on the kept-alive connection: status, headers, decoded body."""
        sendHeaders = {"Accept-Encoding": "gzip", **(headers or {})}
        with self._lock:
            cookies = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if cookies:
            sendHeaders["Cookie"] = cookies
        while True:
            conn = self._connection()
            reused = conn.sock is not None
            try:
                conn.request(method, path, body=body, headers=sendHeaders)
                response = conn.getresponse()
                raw = response.read()
                break
            except (OSError, http.client.HTTPException) as e:
                self._disconnect()
                # A kept-alive connection the site closed meanwhile: once more on a new one.
                stale = isinstance(e, http.client.RemoteDisconnected | BrokenPipeError)
                if not (reused and stale):
                    raise
        self.bytesReceived += len(raw) + sum(len(k) + len(v) + 4 for k, v in response.getheaders())
        for value in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        data = gzip.decompress(raw) if response.getheader("Content-Encoding") == "gzip" else raw
        if response.getheader("Connection", "").lower() == "close":
            self._disconnect()
        return response.status, dict(response.getheaders()), data

    def logIn(self, userName: str, password: str) -> None:
        """Sign in with the site's login form (``BulkSyncError`` when refused)."""
        status, _, page = self.request("GET", "/login")
        match = re.search(rb'name="csrfToken" value="([^"]+)"', page)
        if match is None:
            raise BulkSyncError(status, "the site has no login form")
        form = urllib.parse.urlencode(
            {"username": userName, "password": password, "csrfToken": match.group(1).decode()}
        ).encode()
        status, _, _ = self.request(
            "POST",
            "/login",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.baseUrl,
            },
        )
        if status != 303:
            raise BulkSyncError(status, "login refused")

    # ---- the index --------------------------------------------------------------------

    def _path(self, tail: str) -> str:
        plugin = urllib.parse.quote(self.pluginName, safe="")
        index = urllib.parse.quote(self.indexName, safe="")
        return f"/bulk/{plugin}/{index}/{tail}"

    def remoteHashes(self) -> dict[str, str]:
        """The site's current hash of every chunk (``BulkSyncError`` unless 200)."""
        status, _, body = self.request("GET", self._path("hashes"))
        if status != 200:
            raise BulkSyncError(status, body.decode("utf-8", "replace")[:200])
        document = json.loads(body)
        return {str(b): str(h) for b, h in document["chunks"].items()}

    def localHashes(self) -> dict[str, str]:
        """The hash of every chunk saved on this device."""
        with self._lock:
            return dict(self._db.execute("SELECT bucket, hash FROM chunk").fetchall())

    def rows(self) -> dict[str, Any]:
        """Every row saved on this device (the local copy, readable offline)."""
        rows: dict[str, Any] = {}
        with self._lock:
            bodies = self._db.execute("SELECT body FROM chunk WHERE body != x''").fetchall()
        for (body,) in bodies:
            rows.update(decodeRows(bytes(body)))
        return rows

    def sync(self) -> SyncResult:
        """Download every chunk whose hash changed (``concurrency`` at a time), delete those
        gone; see the module doc. The first failure stops the sync and is raised."""
        result = SyncResult()
        startBytes = self.bytesReceived
        for _ in range(MAX_HASH_ROUNDS):
            remote = self.remoteHashes()
            result.requests += 1
            local = self.localHashes()
            gone = [bucket for bucket in local if bucket not in remote]
            if gone:
                with self._lock:
                    self._db.executemany("DELETE FROM chunk WHERE bucket = ?", [(b,) for b in gone])
                result.removed += len(gone)
            result.upToDate = sum(1 for b, h in remote.items() if local.get(b) == h)
            todo = [(b, h) for b, h in remote.items() if local.get(b) != h]
            outcomes = self._fetchAll(todo, result)
            if "stale" not in outcomes:
                break
        result.bytesReceived = self.bytesReceived - startBytes
        return result

    def _fetchAll(self, todo: list[tuple[str, str]], result: SyncResult) -> list[str]:
        """Fetch ``(bucket, hash)`` pairs ``concurrency`` at a time; the first failure stops
        the others from starting and is raised."""
        stop = threading.Event()

        def fetch(item: tuple[str, str]) -> str:
            if stop.is_set():
                return "skipped"
            try:
                return self._fetchChunk(*item, result)
            except BaseException:
                stop.set()
                raise

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(fetch, todo))

    def _fetchChunk(self, bucket: str, digest: str, result: SyncResult) -> str:
        """Download, check and save one chunk: ``"saved"``, ``"stale"`` (409) or ``"gone"``."""
        tail = f"chunk/{urllib.parse.quote(bucket, safe='')}?hash={digest}"
        status, _, body = self.request("GET", self._path(tail))
        with self._lock:
            result.requests += 1
        if status == 409:
            return "stale"
        if status == 404:
            return "gone"
        if status != 200:
            raise BulkSyncError(status, body.decode("utf-8", "replace")[:200])
        verifiedRowsBytes(body, digest)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO chunk (bucket, hash, body) VALUES (?, ?, ?)",
                (bucket, digest, body if self.keepBodies else b""),
            )
            result.downloaded += 1
        if self.onSaved is not None:
            self.onSaved(bucket)
        return "saved"
