"""Runs the browser vortex client's node test suite (tests/js/*.test.mjs) from pytest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent


def test_js_client_suite_passes() -> None:
    """Every node test of the JS client passes against the real Python vortex server."""
    node = shutil.which("node")
    assert node is not None, "node is not installed; .ci/install-deps installs Node.js"
    files = sorted(str(path) for path in HERE.glob("*.test.mjs"))
    assert files, f"no *.test.mjs files found in {HERE}"
    env = {**os.environ, "VORTEX_TEST_PYTHON": sys.executable}
    result = subprocess.run(
        [node, "--experimental-websocket", "--test", *files],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a guard against a hang; the suite takes about a minute on a quiet machine
        check=False,
    )
    output = f"{result.stdout[-20000:]}\n{result.stderr[-5000:]}"
    assert result.returncode == 0, f"node --test failed ({result.returncode}):\n{output}"
