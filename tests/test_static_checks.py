"""The repository-wide static checks run by the test command: ruff, import layers, mypy.

Each runs the real tool on the whole tree as configured in pyproject.toml, so a change that
breaks a layer contract (docs/dev/architecture.rst), a type or a lint rule fails the suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in the repository root and capture its output."""
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def _failureText(result: subprocess.CompletedProcess[str]) -> str:
    """The tool's own report, for the assertion message."""
    return f"exit status {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_ruff_finds_nothing():
    """``ruff check`` and ``ruff format --check`` pass on the whole repository."""
    lint = _run(sys.executable, "-m", "ruff", "check", ".")
    assert lint.returncode == 0, _failureText(lint)
    formatting = _run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert formatting.returncode == 0, _failureText(formatting)


def test_import_layers_are_kept():
    """``lint-imports`` keeps every contract: vortex < plugin base < platform < services."""
    result = _run(str(Path(sys.executable).parent / "lint-imports"))
    assert result.returncode == 0, _failureText(result)
    assert "0 broken" in result.stdout


@pytest.mark.timeout(900)
def test_mypy_reports_no_errors(tmp_path: Path):
    """mypy, configured in pyproject.toml, finds no error in the vortex, platform or services."""
    result = _run(sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"), timeout=900)
    assert result.returncode == 0, _failureText(result)
    assert "Success: no issues found" in result.stdout
