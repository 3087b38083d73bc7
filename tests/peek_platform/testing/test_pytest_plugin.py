"""Tests for peek_platform/testing/pytest_plugin.py, enabled as a plugin project would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from harness_test_plugin import writePlugin

PROJECT_TEST = '''
import redis


def test_harness_and_redis(peekPluginHarness, peekRedisUrl):
    """The project's own test uses the fixtures."""
    harness = peekPluginHarness("peek_plugin_proj", "field")
    harness.wait(harness.load())
    harness.wait(harness.start())
    assert harness.entryHook.events == ["load", "start"]
    assert redis.Redis.from_url(peekRedisUrl).ping()
'''


def test_plugin_project_enables_the_fixtures_with_pytest_plugins(tmp_path: Path):
    """A project whose conftest names the module gets working harness and Redis fixtures."""
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    writePlugin(project, "proj")
    (project / "tests" / "conftest.py").write_text(
        'pytest_plugins = ["peek_platform.testing.pytest_plugin"]\n'
    )
    (project / "tests" / "test_project.py").write_text(textwrap.dedent(PROJECT_TEST))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


MISSING_REDIS_TEST = '''
def test_needs_redis(peekRedisUrl):
    """Never runs: redis-server is not on PATH."""
'''


def test_missing_server_binary_fails_the_test_instead_of_skipping(tmp_path: Path):
    """A project test using a server fixture whose binary is not on PATH errors (not skips),
    naming the package to install, so a CI without the server cannot pass silently."""
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "conftest.py").write_text(
        'pytest_plugins = ["peek_platform.testing.pytest_plugin"]\n'
    )
    (project / "tests" / "test_project.py").write_text(textwrap.dedent(MISSING_REDIS_TEST))
    emptyBin = tmp_path / "empty-bin"
    emptyBin.mkdir()
    # The project first, then whatever this run imports the platform from.
    pythonPath = os.pathsep.join(filter(None, [str(project), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "tests"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": pythonPath, "PATH": str(emptyBin)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 error" in result.stdout and "skipped" not in result.stdout
    assert "redis-server not found on PATH" in result.stdout
    assert "apt-get install redis-server" in result.stdout
