"""A restarted field service answers devices from its disk tuple cache while logic is down.

Real processes: logic and a field service with the noop plugin (a kiosk field site), and a
device of ``several_hosts_driver.py`` observing noop's items through the field's observable
proxy. The field keeps what it proxied in ``<home>/tuple_cache.sqlite``. Then logic is
killed, the field is killed (SIGKILL: no orderly shutdown) and started again with logic
still down; a new device linking to it must get the last items from disk.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_sqlite_concurrent_actions import NOOP, Driver, startService

from peek_platform.services import FIELD, LOGIC
from peek_platform.testing.ServiceProcess import consoleScript
from peek_platform.vortex.tuple_cache import TUPLE_CACHE_FILE_NAME

pytestmark = pytest.mark.integration


@pytest.fixture
def drivers() -> Iterator[Callable[[dict[str, str]], Driver]]:
    """Starts device drivers; each is stopped at teardown."""
    started: list[Driver] = []

    def start(env: dict[str, str]) -> Driver:
        started.append(Driver(env))
        return started[-1]

    yield start
    for driver in started:
        driver.close()


def storedRows(path: Path) -> int:
    """Rows in the field's tuple cache file (0 while it does not exist yet)."""
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM tuple_store").fetchone()[0]


def deviceItems(driver: Driver, fieldUrl: str, name: str, waitFor: Callable[..., Any]) -> dict:
    """Link device ``name`` to the field site at ``fieldUrl``; the first items it observes."""
    url = fieldUrl.replace("http://", "ws://") + "/vortexws"
    driver.requests(("device", {"name": name, "url": url}))
    return waitFor(lambda: driver.requests(("latest", {"name": name}))[0], what=f"{name} items")


def test_restarted_field_answers_a_new_device_from_disk_while_logic_is_down(
    processes: Any,
    homeRoot: Path,
    writeServiceConfig: Callable[..., Path],
    waitFor: Callable[..., Any],
    drivers: Callable[[dict[str, str]], Driver],
) -> None:
    """After logic and the field are killed and only the field restarts, a device linking to
    it gets the noop items the first device last saw."""
    env = dict(os.environ, PEEK_HOME_ROOT=str(homeRoot), PYTHONUNBUFFERED="1")
    logicHome = homeRoot / LOGIC.homeDirName
    writeServiceConfig(LOGIC, logicHome, plugins=[NOOP])
    logic = processes.command([consoleScript(LOGIC.command), "--home", str(logicHome)], env)
    port = logic.dataExchangePort()
    logic.waitForLine(rf"{LOGIC.vortexName} started: ")
    site = FIELD.sites[0]
    kiosk = {site.requireLoginKey: False, site.anonymousPermissionsKey: [f"{NOOP}.edit"]}
    fieldHome = homeRoot / FIELD.homeDirName
    writeServiceConfig(FIELD, fieldHome, plugins=[NOOP], dataExchangePort=port, settings=kiosk)
    field = startService(processes, FIELD, fieldHome, env)

    driver = drivers(env)
    seen = deviceItems(driver, field.siteUrl(site.name), "device1", waitFor)
    assert seen, "noop seeds items"
    cacheFile = fieldHome / TUPLE_CACHE_FILE_NAME
    waitFor(lambda: storedRows(cacheFile) > 0, what="the items in the field's tuple cache")

    logic.kill()
    field.kill()
    restarted = startService(processes, FIELD, fieldHome, env)
    assert "link up with peek-logic-service" not in restarted.output()
    again = deviceItems(driver, restarted.siteUrl(site.name), "device2", waitFor)
    assert again == seen
    assert "link up with peek-logic-service" not in restarted.output()
