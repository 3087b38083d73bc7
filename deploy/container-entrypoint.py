"""Start one Peek service in a container: ``container-entrypoint.py SERVICE [ARGS...]``.

Before starting ``run_peek_<SERVICE>_service --home $PEEK_HOME_ROOT/<home>``, the settings in
``$PEEK_SETTINGS`` (a JSON object of dotted ``config.json`` keys, the same for every service)
are written into the service's ``config.json``; keys the service does not read are left out,
so one object configures all five. Other settings in the file are kept.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from peek_platform.config import CONFIG_FILE_NAME, setDotted, writeConfigFile
from peek_platform.config.keys import keysForService
from peek_platform.services import serviceByKey


def applySettings(configPath: Path, settings: dict[str, Any], known: set[str]) -> None:
    """Merge the ``settings`` whose keys are in ``known`` into ``configPath``."""
    document: dict[str, Any] = {}
    if configPath.exists():
        document = json.loads(configPath.read_text(encoding="utf-8"))
    for key, value in settings.items():
        if key in known:
            setDotted(document, key, value)
    writeConfigFile(configPath, document)


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: container-entrypoint.py SERVICE [ARGS...]")
    try:
        spec = serviceByKey(argv[0])
    except KeyError as e:
        sys.exit(f"container-entrypoint: {e.args[0]}")
    home = Path(os.environ.get("PEEK_HOME_ROOT", "/var/lib/peek")) / spec.homeDirName
    settings = json.loads(os.environ.get("PEEK_SETTINGS") or "{}")
    if not isinstance(settings, dict):
        sys.exit("container-entrypoint: PEEK_SETTINGS must be a JSON object")
    applySettings(home / CONFIG_FILE_NAME, settings, {key.path for key in keysForService(spec)})
    os.execvp(spec.command, [spec.command, "--home", str(home), *argv[1:]])


if __name__ == "__main__":
    main(sys.argv[1:])
