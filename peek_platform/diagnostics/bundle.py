"""The diagnostics zip: one folder per service that answered, and a summary of who did.

``peek diagnostics`` and the admin site's download both build it from the answer documents
of ``PlatformCommands.run("diagnostics.collect", ...)`` (``service``, ``host``, ``pid``,
``vortexUuid``, ``ok`` and ``result`` or ``error``). Layout (docs/admin/diagnostics.rst)::

    summary.json
    logic-<host>-<pid>/config.json, log.txt, versions.json, plugins.json, links.json,
                       threads.txt, metrics.txt, service.json
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from peek_platform import __version__
from peek_platform.diagnostics.redaction import redactUrls

#: The files of each service's folder, in the order they are written.
SERVICE_FILES: tuple[str, ...] = (
    "service.json",
    "config.json",
    "log.txt",
    "versions.json",
    "plugins.json",
    "links.json",
    "threads.txt",
    "metrics.txt",
)
#: Permission bits of a written zip: it describes the installation, so owner only.
ZIP_MODE = 0o600

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def defaultZipName(when: datetime) -> str:
    """``peek-diagnostics-<UTC timestamp>.zip`` for ``when``."""
    return f"peek-diagnostics-{when.astimezone(UTC):%Y%m%dT%H%M%SZ}.zip"


def folderName(answer: dict[str, Any]) -> str:
    """The folder of one service's answer: ``<service>-<host>-<pid>``, from the answer's
    own report when it has one."""
    reported = answer.get("result", {}).get("service", {}) if answer.get("ok") else {}
    parts = [
        str(answer.get("service") or reported.get("serviceKey") or "service"),
        str(reported.get("host") or answer.get("host") or "unknown-host"),
        str(reported.get("pid") or answer.get("pid") or str(answer.get("vortexUuid", ""))[:8]),
    ]
    return "-".join(_UNSAFE.sub("_", part) for part in parts if part)


def buildZip(answers: Sequence[dict[str, Any]], when: datetime) -> bytes:
    """The zip of ``answers`` collected at ``when``, as bytes."""
    buffer = io.BytesIO()
    used: set[str] = set()
    summary: dict[str, Any] = {
        "createdAt": when.astimezone(UTC).isoformat(),
        "peekPlatform": __version__,
        "answered": [],
        "failed": [],
    }
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for answer in answers:
            folder = _unique(folderName(answer), used)
            where = {
                "service": answer.get("service"),
                "host": answer.get("host"),
                "pid": answer.get("pid"),
                "vortexUuid": answer.get("vortexUuid"),
                "folder": folder,
            }
            if not answer.get("ok"):
                summary["failed"].append({**where, "error": str(answer.get("error"))})
                continue
            summary["answered"].append(where)
            for name, text in serviceEntries(answer["result"]).items():
                _write(archive, f"{folder}/{name}", text)
        _write(archive, "summary.json", _json(summary))
    return buffer.getvalue()


def serviceEntries(result: dict[str, Any]) -> dict[str, str]:
    """The text of each file of one service's folder, from its ``diagnostics.collect``."""
    log = result.get("log", {})
    logText = f"# {log.get('path', '')}\n" + "".join(f"{line}\n" for line in log.get("lines", []))
    return {
        "service.json": _json(result.get("service", {})),
        "config.json": _json(result.get("config", {})),
        "log.txt": logText,
        "versions.json": _json(result.get("versions", {})),
        "plugins.json": _json(result.get("plugins", [])),
        "links.json": _json(result.get("links", [])),
        "threads.txt": str(result.get("threads", "")),
        "metrics.txt": str(result.get("metrics", "")),
    }


def writeZipAtomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a fsynced temporary file renamed over it, mode
    0600: readers never see a partial zip; on failure ``path`` is untouched."""
    path = Path(path)
    fd, tmpName = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmpFile:
            tmpFile.write(data)
            tmpFile.flush()
            os.fsync(tmpFile.fileno())
        os.chmod(tmpName, ZIP_MODE)
        os.replace(tmpName, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmpName)
        raise


def _write(archive: zipfile.ZipFile, name: str, text: str) -> None:
    """Add one entry; every text passes the URL-password redaction once more."""
    info = zipfile.ZipInfo(name, date_time=datetime.now().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o600 << 16) | 0o100000  # a regular file, owner read/write
    archive.writestr(info, redactUrls(text).encode("utf-8"))


def _json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, default=str) + "\n"


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name-2``... when another service's folder already has it."""
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}-{n}"
    used.add(candidate)
    return candidate
