"""How a chunk is encoded: once, when compiled, into the exact HTTP body devices get.

The body is ``{"bucket":"<bucket>","hash":"<hash>","rows":<rows>}`` where ``<rows>`` is the
rows object as compact JSON with sorted keys, and ``<hash>`` is the lowercase hex SHA-256
of exactly those ``<rows>`` bytes. Bucket names contain no quote or backslash
(``NAME_PATTERN``), so the rows bytes are everything after the first ``"rows":`` up to the
final ``}``; a device can check the hash without decoding the rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from peek_plugin_base.bulk.ChunkedIndex import checkChunkedIndexName

_ROWS_MARK = b',"rows":'


class ChunkFormatError(ValueError):
    """Bytes that are not a chunk body of this format, or whose hash does not match."""


@dataclass(frozen=True)
class EncodedChunk:
    """A compiled chunk: its bucket, the hash of its rows and the body to serve."""

    bucket: str
    hash: str
    body: bytes


def encodeRows(rows: dict[str, Any]) -> bytes:
    """The canonical encoding of a chunk's rows (compact JSON, keys sorted)."""
    return orjson.dumps(rows, option=orjson.OPT_SORT_KEYS)


def rowsHash(rowsBytes: bytes) -> str:
    """The hash of encoded rows: lowercase hex SHA-256 (64 characters)."""
    return hashlib.sha256(rowsBytes).hexdigest()


def encodeChunk(bucket: str, rows: dict[str, Any]) -> EncodedChunk:
    """Encode ``rows`` of ``bucket`` into its body, hashing the rows once."""
    checkChunkedIndexName("bucket", bucket)
    rowsBytes = encodeRows(rows)
    digest = rowsHash(rowsBytes)
    body = b'{"bucket":"%s","hash":"%s","rows":%s}' % (bucket.encode(), digest.encode(), rowsBytes)
    return EncodedChunk(bucket, digest, body)


def rowsBytesOf(body: bytes) -> bytes:
    """The encoded rows inside a chunk body (``ChunkFormatError`` if it is not one)."""
    at = body.find(_ROWS_MARK)
    if not body.startswith(b'{"bucket":"') or at < 0 or not body.endswith(b"}"):
        raise ChunkFormatError("not a chunk body")
    return body[at + len(_ROWS_MARK) : -1]


def verifiedRowsBytes(body: bytes, expectedHash: str) -> bytes:
    """The rows bytes of ``body`` after checking they hash to ``expectedHash``."""
    rowsBytes = rowsBytesOf(body)
    if rowsHash(rowsBytes) != expectedHash:
        raise ChunkFormatError(f"chunk rows do not hash to {expectedHash}")
    return rowsBytes


def decodeRows(body: bytes) -> dict[str, Any]:
    """The rows of a chunk body."""
    rows = orjson.loads(rowsBytesOf(body))
    if not isinstance(rows, dict):
        raise ChunkFormatError("chunk rows are not an object")
    return rows
