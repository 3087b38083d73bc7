"""Reading ``config.json`` with json-cfg and writing it back atomically."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import jsoncfg

from peek_platform.config.errors import ConfigError

#: Name of the configuration file inside a service home.
CONFIG_FILE_NAME = "config.json"

_STRICT_SYNTAX = jsoncfg.JSONParserParams(allow_comments=False)


def readConfigText(path: Path) -> str:
    """Return the file's text (UTF-8, optional BOM); ``ConfigError`` if unreadable."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(path, f"cannot read the config file: {e.strerror or e}") from e
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise ConfigError(path, "the file is not valid UTF-8 text", line, col) from e


def parseConfigText(path: Path, text: str) -> Any:
    """Parse ``text`` into a json-cfg node tree whose root is an object.

    Raises ``ConfigError`` with the line and column json-cfg reports.
    """
    try:
        return jsoncfg.loads_config(text)
    except jsoncfg.JSONConfigParserException as e:
        raise ConfigError(path, e.error_message, e.line, e.column) from e


def hasComments(text: str) -> bool:
    """True when ``text`` (already known to parse) uses ``//`` or ``/* */`` comments.

    json-cfg only meets a ``/`` outside a quoted string at a comment, so the text parses
    without comment support exactly when it has none.
    """
    try:
        jsoncfg.loads(text, parser_params=_STRICT_SYNTAX)
    except jsoncfg.JSONConfigParserException:
        return True
    return False


def writeConfigFile(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically, creating the directory.

    The text goes to a temporary file in the same directory, is fsynced, then renamed over
    ``path``; readers see the old file or the new one, never a partial write. An existing
    file's permission bits are kept; a new file is private to the owner (it may hold
    secrets). On failure the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writeTextAtomically(path, json.dumps(data, indent=4, ensure_ascii=False) + "\n")


def writeTextAtomically(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` (whose directory exists) through a fsynced temporary file
    renamed over it: readers see the old file or the new one, never a partial write.

    ``mode`` sets the permission bits; without it an existing file's are kept and a new
    file is private to the owner. On failure ``path`` is untouched.
    """
    fd, tmpName = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmpFile:
            tmpFile.write(text)
            tmpFile.flush()
            os.fsync(tmpFile.fileno())
        if mode is not None:
            os.chmod(tmpName, mode)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmpName, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmpName, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmpName)
        raise
    _fsyncDirectory(path.parent)


def _fsyncDirectory(directory: Path) -> None:
    """Flush the directory entry of a rename to disk, where the OS supports it."""
    try:
        dirFd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(dirFd)
    finally:
        os.close(dirFd)
