"""``/bulk/...`` on the field and office sites: chunk hashes and chunks for devices.

* ``GET /bulk/<plugin>/<index>/hashes``: ``{"index", "plugin", "chunks": {bucket: hash}}``;
* ``GET /bulk/<plugin>/<index>/chunk/<bucket>[?hash=<hash>]``: the chunk's body as
  compiled, ``ETag: "<hash>"``, gzip when accepted; ``409`` when ``hash`` is given and is
  not the chunk's current hash; ``304`` for a matching ``If-None-Match``.

Unknown plugins, indexes and buckets, and names that are not valid names, are ``404`` with
a JSON ``{"error"}``. Everything is ``Cache-Control: no-store``. The site's guard runs first
(``/bulk`` is a protected path), so a device must be signed in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from twisted.internet import threads
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from peek_platform.bulk.queue_db import IndexId
from peek_platform.bulk.store import StoredChunk
from peek_plugin_base.bulk.ChunkedIndex import NAME_PATTERN

#: The path the resource is mounted at on each app site.
BULK_PATH = b"bulk"

#: ``hashesBody(indexId) -> (json body, gzip body)`` or None for an unknown index.
HashesBody = Callable[[IndexId], tuple[bytes, bytes] | None]
#: ``readChunk(indexId, bucket) -> StoredChunk | None`` (blocking; run in a thread).
ReadChunk = Callable[[IndexId, str], StoredChunk | None]


def _acceptsGzip(request: IRequest) -> bool:
    accept = (request.getHeader(b"accept-encoding") or b"").lower()
    return any(
        part.split(b";")[0].strip() == b"gzip" and b"q=0" not in part.replace(b" ", b"")
        for part in accept.split(b",")
    )


def _json(request: IRequest, status: int, document: dict[str, Any]) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    request.setHeader(b"Cache-Control", b"no-store")
    return json.dumps(document).encode()


def _body(request: IRequest, body: bytes, gz: bytes) -> bytes:
    """Answer 200 with ``body``, or its gzip form when the request accepts it."""
    request.setResponseCode(200)
    request.setHeader(b"Content-Type", b"application/json")
    request.setHeader(b"Cache-Control", b"no-store")
    request.setHeader(b"Vary", b"Accept-Encoding")
    if _acceptsGzip(request):
        request.setHeader(b"Content-Encoding", b"gzip")
        body = gz
    request.setHeader(b"Content-Length", str(len(body)).encode())
    return body


class BulkResource(Resource):
    """The ``/bulk`` tree of one site, answering from the service's chunk store."""

    isLeaf = True

    def __init__(self, hashesBody: HashesBody, readChunk: ReadChunk, reactor: Any) -> None:
        super().__init__()
        self._hashesBody = hashesBody
        self._readChunk = readChunk
        self._reactor = reactor

    def render_GET(self, request: IRequest) -> bytes | int:
        """Route ``<plugin>/<index>/hashes`` and ``<plugin>/<index>/chunk/<bucket>``."""
        try:
            parts = [part.decode("ascii") for part in request.postpath]
        except UnicodeDecodeError:
            return _json(request, 404, {"error": "not found"})
        if len(parts) not in (3, 4) or not all(NAME_PATTERN.fullmatch(p) for p in parts):
            return _json(request, 404, {"error": "not found: use /bulk/<plugin>/<index>/hashes"})
        indexId = (parts[0], parts[1])
        hashes = self._hashesBody(indexId)
        if hashes is None:
            return _json(request, 404, {"error": f"no chunked index {parts[1]} of {parts[0]}"})
        if len(parts) == 3 and parts[2] == "hashes":
            return _body(request, *hashes)
        if len(parts) == 4 and parts[2] == "chunk":
            return self._chunk(request, indexId, parts[3])
        return _json(request, 404, {"error": "not found"})

    def _chunk(self, request: IRequest, indexId: IndexId, bucket: str) -> int:
        wanted = request.args.get(b"hash", [None])[0]
        gone: list[bool] = []
        cast(Request, request).notifyFinish().addErrback(lambda _: gone.append(True))
        d = threads.deferToThreadPool(
            self._reactor, self._reactor.getThreadPool(), self._readChunk, indexId, bucket
        )

        def answer(chunk: StoredChunk | None) -> None:
            if chunk is None:
                data = _json(request, 404, {"error": f"no chunk {bucket}"})
            elif wanted is not None and wanted.decode("ascii", "replace") != chunk.hash:
                data = _json(request, 409, {"error": "the chunk changed: fetch the hashes again"})
            else:
                etag = f'"{chunk.hash}"'.encode()
                request.setHeader(b"ETag", etag)
                if request.getHeader(b"if-none-match") == etag:
                    request.setResponseCode(304)
                    request.setHeader(b"Cache-Control", b"no-store")
                    data = b""
                else:
                    data = _body(request, chunk.body, chunk.gz)
            if not gone:
                request.write(data)
                request.finish()

        def failed(failure: Failure) -> None:
            if not gone:
                request.write(_json(request, 500, {"error": "the chunk could not be read"}))
                request.finish()

        d.addCallback(answer).addErrback(failed)
        return NOT_DONE_YET
