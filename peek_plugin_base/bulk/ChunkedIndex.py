"""A plugin's chunked index: a large keyed data set that devices keep a copy of.

Rows (JSON values, by string key) are grouped into chunks by ``bucketForKey``. A plugin on
logic gets a publisher for its index (``platform.chunkedIndexPublisher(index)``) and queues
changed rows with it; the worker service compiles each changed chunk once, field and office
keep the chunks on disk, and devices download only the chunks whose hash changed
(``docs/dev/bulk-sync.rst``).
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred

#: Index and bucket names: safe as one URL path segment and as a file-free database key.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")

#: ``bucketForKey(rowKey) -> bucket name``; must always give the same bucket for a key.
BucketForKey = Callable[[str], str]


class ChunkedIndexNameError(ValueError):
    """An index or bucket name that is not 1-100 of ``A-Z a-z 0-9 _ . -`` (first alphanumeric)."""


def checkChunkedIndexName(kind: str, name: object) -> str:
    """``name`` if it is a valid index or bucket name, else ``ChunkedIndexNameError``."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise ChunkedIndexNameError(
            f"{kind} name {name!r} is not valid: use 1-100 of A-Z a-z 0-9 _ . -,"
            " starting with a letter or digit"
        )
    return name


def hashBucket(buckets: int) -> BucketForKey:
    """A ``bucketForKey`` spreading keys evenly over ``buckets`` chunks (``"0000"``...),
    for data that changes anywhere; keys that change together are better bucketed by range."""
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, got {buckets}")
    width = len(str(buckets - 1))

    def bucketForKey(key: str) -> str:
        number = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
        return str(number % buckets).zfill(width)

    return bucketForKey


@dataclass(frozen=True)
class ChunkedIndex:
    """One data set of a plugin: its ``name`` (unique within the plugin) and how its rows
    are grouped into chunks (``bucketForKey``)."""

    name: str
    bucketForKey: BucketForKey

    def __post_init__(self) -> None:
        checkChunkedIndexName("index", self.name)

    def bucketOf(self, key: str) -> str:
        """The checked bucket of row ``key`` (``ChunkedIndexNameError`` for a bad bucket)."""
        if not isinstance(key, str):
            raise TypeError(f"row keys are strings, got {type(key).__name__}")
        return checkChunkedIndexName("bucket", self.bucketForKey(key))


class ChunkedIndexPublisherABC(ABC):
    """What a plugin on logic uses to publish its index's changes."""

    @property
    @abstractmethod
    def index(self) -> ChunkedIndex:
        """The index this publisher publishes."""

    @abstractmethod
    def queueRows(self, rows: Mapping[str, Any]) -> Deferred[int]:
        """Queue the new value of each row (a JSON value; ``None`` deletes the row).

        Queued rows are stored durably and compiled by the worker service; a key queued
        again before it is compiled keeps only its newest value. Fires with the number of
        rows queued, once they are stored (not yet compiled).
        """

    @abstractmethod
    def chunkHashes(self) -> dict[str, str]:
        """The current hash of every compiled chunk, by bucket (what field and office get)."""
