"""Fixtures for the scaffolding tests: the noop plugin of this checkout is the template, and
Peek service commands run as real processes for the generated plugin."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from peek_platform.services import ServiceSpec
from peek_plugin_base.testing.FreePort import freeTcpPort

#: The noop plugin project in this repository.
NOOP_PROJECT_DIR = Path(__file__).resolve().parents[3] / "plugins" / "peek-plugin-noop"


@pytest.fixture
def noopProjectDir() -> Path:
    """The noop plugin project directory of this checkout."""
    return NOOP_PROJECT_DIR


@pytest.fixture
def noopOnPath(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the noop project first on sys.path, so the template is this checkout's plugin."""
    monkeypatch.syspath_prepend(str(NOOP_PROJECT_DIR))
    return NOOP_PROJECT_DIR / "peek_plugin_noop"


class ServiceProcess:
    """One Peek service command as a real process, its output collected line by line."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.argv = argv
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def waitForLine(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Wait for an output line matching ``pattern``; fail with the output if none comes."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for match in map(regex.search, self.lines):
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                exited = self.process.poll() is not None and not self._reader.is_alive()
                if remaining <= 0 or exited:
                    break
                self._changed.wait(min(remaining, 0.5))
            output = "\n".join(self.lines)
        pytest.fail(f"no line matching {pattern!r} from {' '.join(self.argv)}:\n{output}")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM the process, wait for it (SIGKILL if it hangs) and return its status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return self.process.returncode


@pytest.fixture
def startService() -> Iterator[Callable[[ServiceSpec, Path, dict[str, str]], ServiceProcess]]:
    """``startService(spec, home, env)`` runs a service command; all are stopped at teardown."""
    started: list[ServiceProcess] = []

    def start(spec: ServiceSpec, home: Path, env: dict[str, str]) -> ServiceProcess:
        command = shutil.which(spec.command, path=str(Path(sys.executable).parent))
        command = command or shutil.which(spec.command)
        if command is None:
            pytest.fail(f"console script {spec.command} is not installed; run `pip install -e .`")
        service = ServiceProcess([command, "--home", str(home)], env)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def freePort() -> Callable[[], int]:
    """``freePort()``: a TCP port on 127.0.0.1 that was free a moment ago."""
    return freeTcpPort
