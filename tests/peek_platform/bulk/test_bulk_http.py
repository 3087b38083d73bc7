"""The ``/bulk`` resource: the HTTP protocol devices use (hashes, chunks, errors)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from twisted.web.test.requesthelper import DummyRequest

from peek_platform.bulk.chunks import encodeChunk
from peek_platform.bulk.resource import BulkResource
from peek_platform.bulk.store import StoredChunk

CHUNK = encodeChunk("c1", {"k1": {"v": 1}})
STORED = StoredChunk(CHUNK.hash, CHUNK.body, gzip.compress(CHUNK.body))
HASHES = json.dumps({"index": "things", "plugin": "peek_plugin_x", "chunks": {"c1": CHUNK.hash}})


class InlineReactor:
    """Runs "thread pool" work at once, so a render completes before it returns."""

    def getThreadPool(self) -> InlineReactor:
        return self

    def callInThreadWithCallback(self, onResult: Callable, fn: Callable, *args: Any) -> None:
        try:
            onResult(True, fn(*args))
        except Exception as e:  # handed to the Deferred as a failure
            onResult(False, e)

    def callFromThread(self, fn: Callable, *args: Any) -> None:
        fn(*args)


def get(path: str, headers: dict[str, str] | None = None) -> DummyRequest:
    """Render ``GET /bulk/<path>`` and return the finished request."""
    bare, _, query = path.partition("?")
    request = DummyRequest(bare.encode().split(b"/"))
    if query:
        name, _, value = query.partition("=")
        request.args = {name.encode(): [value.encode()]}
    for name, value in (headers or {}).items():
        request.requestHeaders.setRawHeaders(name, [value])
    resource = BulkResource(
        lambda indexId: (
            (HASHES.encode(), gzip.compress(HASHES.encode()))
            if indexId == ("peek_plugin_x", "things")
            else None
        ),
        lambda indexId, bucket: STORED if bucket == "c1" else None,
        InlineReactor(),
    )
    result = resource.render(request)
    if isinstance(result, bytes):
        request.write(result)
        request.finish()
    return request


def body(request: DummyRequest) -> bytes:
    """What was written, decompressed when it was sent gzip."""
    data = b"".join(request.written)
    if request.responseHeaders.getRawHeaders(b"content-encoding") == [b"gzip"]:
        return gzip.decompress(data)
    return data


def test_hashes_and_a_chunk_are_served_as_compiled() -> None:
    """``hashes`` is the index's JSON; ``chunk/<bucket>`` is the body exactly as compiled,
    with its hash as ETag and ``no-store``."""
    hashes = get("peek_plugin_x/things/hashes")
    assert (hashes.responseCode or 200) == 200
    assert json.loads(body(hashes))["chunks"] == {"c1": CHUNK.hash}
    chunk = get(f"peek_plugin_x/things/chunk/c1?hash={CHUNK.hash}")
    assert (chunk.responseCode or 200) == 200
    assert body(chunk) == CHUNK.body
    assert chunk.responseHeaders.getRawHeaders(b"etag") == [f'"{CHUNK.hash}"'.encode()]
    assert chunk.responseHeaders.getRawHeaders(b"cache-control") == [b"no-store"]
    assert chunk.responseHeaders.getRawHeaders(b"content-encoding") is None


def test_gzip_is_sent_only_to_a_request_accepting_it() -> None:
    """``Accept-Encoding: gzip`` gets the stored gzip form; ``gzip;q=0`` does not."""
    zipped = get("peek_plugin_x/things/chunk/c1", {"Accept-Encoding": "br, gzip"})
    assert zipped.responseHeaders.getRawHeaders(b"content-encoding") == [b"gzip"]
    assert body(zipped) == CHUNK.body
    refused = get("peek_plugin_x/things/chunk/c1", {"Accept-Encoding": "gzip;q=0"})
    assert refused.responseHeaders.getRawHeaders(b"content-encoding") is None


def test_a_stale_hash_is_a_conflict_and_a_matching_etag_not_modified() -> None:
    """``?hash=`` other than the current hash answers 409; ``If-None-Match`` with the
    current ETag answers 304 with no body."""
    assert get("peek_plugin_x/things/chunk/c1?hash=" + "0" * 64).responseCode == 409
    notModified = get("peek_plugin_x/things/chunk/c1", {"If-None-Match": f'"{CHUNK.hash}"'})
    assert notModified.responseCode == 304 and body(notModified) == b""


@pytest.mark.parametrize(
    "path",
    [
        "peek_plugin_x/other/hashes",
        "peek_plugin_y/things/hashes",
        "peek_plugin_x/things/chunk/c2",
        "peek_plugin_x/things/chunk/..",
        "peek_plugin_x/things/nothing",
        "peek_plugin_x/..%2f/hashes",
        "peek_plugin_x/things",
    ],
)
def test_unknown_or_bad_paths_are_json_404s(path: str) -> None:
    """Unknown plugins, indexes and buckets and invalid names are 404 with a JSON error."""
    request = get(path)
    assert request.responseCode == 404
    assert "error" in json.loads(body(request))
