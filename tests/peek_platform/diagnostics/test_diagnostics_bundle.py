"""The diagnostics zip: a folder per answering service, summary.json, atomic 0600 write."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from datetime import UTC, datetime

import pytest

from peek_platform.diagnostics.bundle import (
    SERVICE_FILES,
    buildZip,
    defaultZipName,
    folderName,
    writeZipAtomically,
)

WHEN = datetime(2026, 11, 21, 13, 40, 1, tzinfo=UTC)


def result(key: str, host: str, pid: int) -> dict:
    return {
        "service": {"serviceKey": key, "host": host, "pid": pid},
        "config": {"dataExchange": {"secret": "***"}},
        "log": {"path": f"/h/{key}.log", "lines": ["a", "engine postgresql://u:leaked@h/db"]},
        "versions": {"peekPlatform": "0.1.0"},
        "plugins": [{"name": "peek_plugin_noop", "state": "started"}],
        "links": [{"name": "peek-logic-service", "uuid": "u"}],
        "threads": "1 threads\n",
        "metrics": "peek_up 1\n",
    }


ANSWERS = [
    {"service": "logic", "ok": True, "result": result("logic", "alpha", 10)},
    {
        "service": "field",
        "host": "beta",
        "pid": 20,
        "vortexUuid": "f1",
        "ok": True,
        "result": result("field", "beta", 20),
    },
    {
        "service": "field",
        "host": "beta",
        "pid": 21,
        "vortexUuid": "f2",
        "ok": False,
        "error": "no answer to 'diagnostics.collect' within 30 s",
    },
]


def openZip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def test_layout_is_a_folder_per_service_and_a_summary():
    """Each answering service has every file in ``<service>-<host>-<pid>/``; the one that
    did not answer is named in summary.json with why."""
    archive = openZip(buildZip(ANSWERS, WHEN))
    folders = ("logic-alpha-10", "field-beta-20")
    expected = {f"{folder}/{name}" for folder in folders for name in SERVICE_FILES}
    assert set(archive.namelist()) == expected | {"summary.json"}
    summary = json.loads(archive.read("summary.json"))
    assert summary["createdAt"] == "2026-11-21T13:40:01+00:00"
    assert [a["folder"] for a in summary["answered"]] == ["logic-alpha-10", "field-beta-20"]
    assert summary["failed"] == [
        {
            "service": "field",
            "host": "beta",
            "pid": 21,
            "vortexUuid": "f2",
            "folder": "field-beta-21",
            "error": "no answer to 'diagnostics.collect' within 30 s",
        }
    ]
    assert json.loads(archive.read("field-beta-20/plugins.json"))[0]["state"] == "started"
    assert archive.read("logic-alpha-10/metrics.txt") == b"peek_up 1\n"


def test_every_entry_passes_the_url_redaction_again():
    """A URL password that reached the builder is still redacted in the zip."""
    log = openZip(buildZip(ANSWERS, WHEN)).read("logic-alpha-10/log.txt").decode()
    assert log == "# /h/logic.log\na\nengine postgresql://u:***@h/db\n"


def test_two_processes_with_the_same_name_get_two_folders():
    """Folder names are unique even if two answers name the same host and pid."""
    twice = [ANSWERS[0], ANSWERS[0]]
    names = {n.split("/")[0] for n in openZip(buildZip(twice, WHEN)).namelist()}
    assert names == {"logic-alpha-10", "logic-alpha-10-2", "summary.json"}


def test_folder_and_default_names():
    """Unsafe characters leave folder names; the default zip name carries UTC time."""
    assert folderName({"service": "field", "ok": False, "host": "a/b c", "pid": 1}) == (
        "field-a_b_c-1"
    )
    assert defaultZipName(WHEN) == "peek-diagnostics-20261121T134001Z.zip"


def test_write_is_atomic_and_private(tmp_path):
    """The zip is written whole with mode 0600; a failed write leaves no file behind."""
    path = tmp_path / "d.zip"
    writeZipAtomically(path, b"zip bytes")
    assert path.read_bytes() == b"zip bytes"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileNotFoundError):
        writeZipAtomically(tmp_path / "missing" / "d.zip", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.zip"]
