"""``run_peek_platform --dev``'s reloader on a twisted Clock over a real plugin directory."""

from __future__ import annotations

import importlib
import logging
import os
import uuid

import pytest
from twisted.internet import task
from twisted.internet.defer import Deferred, succeed

from peek_platform.dev_reload import DevReloader, changedFiles, snapshot, syntaxErrors


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A plugin package on sys.path (never imported): its name and directory."""
    name = f"peek_plugin_dev_{uuid.uuid4().hex[:8]}"
    directory = tmp_path / name
    (directory / "_private").mkdir(parents=True)
    (directory / "__init__.py").write_text("VERSION = 1\n")
    (directory / "_private" / "tuples.py").write_text("X = 1\n")
    (directory / "plugin_package.json").write_text("{}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return name, directory


class Restarts:
    """Records each restart asked for; answers with ``answers`` (or ``pending``)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.answers: list[dict] = []
        self.pending: Deferred | None = None

    def __call__(self, name, changed):
        self.calls.append((name, changed))
        return self.pending if self.pending is not None else succeed(self.answers)


@pytest.fixture
def reloader(plugin):
    """A started reloader watching ``plugin`` on a Clock; its restarts and clock."""
    clock = task.Clock()
    restarts = Restarts()
    watcher = DevReloader(lambda: [plugin[0]], restarts, clock=clock, pollSeconds=1.0)
    watcher.start()
    yield watcher, restarts, clock
    watcher.stop()


def polls(clock, count):
    """Let the reloader look ``count`` times (one Clock step per poll)."""
    for _ in range(count):
        clock.advance(1.0)


def touch(path, text):
    """Rewrite ``path`` so its size or modification time differs from before."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_a_change_restarts_once_after_one_quiet_poll(plugin, reloader):
    """A changed file is acted on only when the next poll sees it unchanged, once, naming it."""
    name, directory = plugin
    _, restarts, clock = reloader
    touch(directory / "_private" / "tuples.py", "X = 2\n")
    clock.advance(1.0)
    assert restarts.calls == []
    clock.advance(1.0)
    assert restarts.calls == [(name, ["_private/tuples.py"])]
    polls(clock, 5)
    assert len(restarts.calls) == 1


def test_compiled_files_and_caches_are_not_changes(plugin, reloader):
    """Writing .pyc files and __pycache__ never restarts the plugin."""
    _, directory = plugin
    _, restarts, clock = reloader
    (directory / "__pycache__").mkdir()
    touch(directory / "__pycache__" / "x.cpython-311.pyc", "compiled")
    touch(directory / "stale.pyc", "compiled")
    polls(clock, 3)
    assert restarts.calls == []


def test_a_change_that_does_not_compile_keeps_the_plugin_running(plugin, reloader, caplog):
    """A syntax error is logged with file and line, and no restart is asked for."""
    name, directory = plugin
    _, restarts, clock = reloader
    caplog.set_level(logging.ERROR)
    touch(directory / "__init__.py", "VERSION = (\n")
    polls(clock, 2)
    assert restarts.calls == []
    assert f"{name} changed (__init__.py) but does not compile" in caplog.text
    assert "__init__.py:1:" in caplog.text


def test_changes_during_a_restart_restart_it_again_afterwards(plugin, reloader):
    """Files changed while a restart runs cause exactly one more restart once it is done."""
    name, directory = plugin
    _, restarts, clock = reloader
    restarts.pending = Deferred()
    touch(directory / "__init__.py", "VERSION = 2\n")
    polls(clock, 2)
    running = restarts.pending
    touch(directory / "__init__.py", "VERSION = 3\n")
    polls(clock, 2)
    assert len(restarts.calls) == 1
    restarts.pending = None
    running.callback([])
    assert restarts.calls[1] == (name, ["__init__.py"])


def test_each_services_answer_is_logged(plugin, reloader, caplog):
    """A started answer logs the restart time; a failed one logs its reason as an error."""
    name, directory = plugin
    _, restarts, clock = reloader
    restarts.answers = [
        {
            "service": "logic",
            "pid": 7,
            "ok": True,
            "result": {"state": "started", "seconds": 0.085},
        },
        {
            "service": "field",
            "pid": 8,
            "ok": True,
            "result": {"state": "failed", "seconds": 0.01, "reason": "import failed: boom"},
        },
        {"service": "agent", "pid": 9, "ok": False, "error": "no answer within 60 s"},
    ]
    caplog.set_level(logging.INFO)
    touch(directory / "__init__.py", "VERSION = 5\n")
    polls(clock, 2)
    assert f"dev: {name} restarted on logic (pid 7) in 85 ms" in caplog.text
    assert f"dev: {name} is failed on field (pid 8) after the restart: import failed: boom" in (
        caplog.text
    )
    assert f"dev: {name} was not restarted on agent (pid 9): no answer within 60 s" in caplog.text


def test_snapshot_helpers(tmp_path):
    """changedFiles names added, removed and modified files; syntaxErrors only bad .py."""
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "b.py").write_text("b = 1\n")
    before = snapshot(tmp_path)
    touch(tmp_path / "a.py", "a = 22\n")
    (tmp_path / "b.py").unlink()
    (tmp_path / "c.txt").write_text("not python (\n")
    assert changedFiles(before, snapshot(tmp_path)) == ["a.py", "b.py", "c.txt"]
    assert syntaxErrors(tmp_path, ["a.py", "b.py", "c.txt"]) == []
    (tmp_path / "a.py").write_text("def broken(:\n")
    assert syntaxErrors(tmp_path, ["a.py"]) == ["a.py:1: invalid syntax"]
