"""Shared plumbing of the bench scripts: process pairs, JSON result lines, medians, vortexpy.

Each workload script runs its own server and client as separate processes (so the figures
include real sockets and no shared interpreter), reads the client's one JSON result line,
and, where it compares, runs vortexpy's reference harness from the anchors folder in a
virtualenv of its own. This module holds those steps so the scripts hold only workloads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from peek_plugin_base.testing.FreePort import freeTcpPort

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ANCHORS = REPO_ROOT.parent / "shared" / "anchors" / "vortexpy"
VENV = REPO_ROOT / "bench" / ".venv-vortexpy"
VORTEXPY_REQUIREMENTS = ["vortexpy", "twisted[tls]==25.5.0"]
W4_KEYS = ("seq_round_trips_per_s", "seq_p50_ms", "seq_p99_ms", "pipe_msgs_per_s")


#: A loopback TCP port that is free now, for a server process to listen on.
freePort = freeTcpPort


def repoPythonPathEnv() -> dict[str, str]:
    """This environment with ``PYTHONPATH`` set to the repository root, for child processes."""
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT))


def jsonLines(text: str) -> list[str]:
    """The lines of a process's output that are JSON objects (result lines start with ``{``)."""
    return [line for line in text.splitlines() if line.startswith("{")]


def runServerClient(
    serverArgv: Sequence[str],
    clientArgv: Sequence[str],
    what: str,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> dict:
    """Start a server process, wait for its ``READY`` line, run the client; its last JSON line.

    The server is killed afterwards whatever happens; ``what`` names the pair in errors.
    """
    server = subprocess.Popen(
        list(serverArgv), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        if "READY" not in server.stdout.readline():
            raise RuntimeError(f"{what} server did not start")
        out = subprocess.run(
            list(clientArgv), capture_output=True, text=True, timeout=timeout, env=env
        )
        lines = jsonLines(out.stdout)
        if not lines:
            raise RuntimeError(f"{what} client printed no result: {out.stderr[-2000:]}")
        return json.loads(lines[-1])
    finally:
        server.kill()
        server.wait()


def addAnchorsArgument(parser: argparse.ArgumentParser, helpText: str | None = None) -> None:
    """The ``--anchors DIR`` option: the folder holding vortexpy's reference harness."""
    parser.add_argument("--anchors", type=Path, default=DEFAULT_ANCHORS, help=helpText)


def ensureVenv() -> Path:
    """Create the vortexpy virtualenv on first use (network needed once); return its python."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *VORTEXPY_REQUIREMENTS], check=True
        )
    return python


def runVortexpyProcess(
    anchors: Path, argv: Sequence[str], timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run an anchors script (``argv`` after the interpreter) in the vortexpy venv, in anchors.

    ``PYTHONPATH`` is cleared so the venv never picks up this repository's ``vortex``.
    """
    return subprocess.run(
        [str(ensureVenv()), *argv],
        cwd=anchors,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": ""},
    )


def runVortexpy(anchors: Path, argv: Sequence[str], what: str, timeout: float) -> dict:
    """Run an anchors workload in the vortexpy venv; its last JSON line (``what`` in errors)."""
    out = runVortexpyProcess(anchors, argv, timeout)
    lines = jsonLines(out.stdout)
    if not lines:
        raise RuntimeError(f"{what} printed no result: {out.stderr[-2000:]}")
    return json.loads(lines[-1])


def printRound(n: int, label: str, result: dict, width: int) -> None:
    """One round's raw figures: ``round N label {json}``, label padded to width."""
    print(f"round {n} {label:{width}s} {json.dumps(result)}", flush=True)


def median(results: Iterable[dict], key: str) -> float | None:
    """Median of ``key`` over the results that have it; None when none has."""
    values = [r[key] for r in results if key in r]
    return statistics.median(values) if values else None


def runInterleaved(
    rounds: int, modes: Sequence[str], runOne: Callable[[str], dict]
) -> dict[str, list[dict]]:
    """Run every mode once per round, one after the other (the machine is noisy); print each."""
    width = max(len(mode) for mode in modes)
    results: dict[str, list[dict]] = {mode: [] for mode in modes}
    for n in range(rounds):
        for mode in modes:
            res = runOne(mode)
            results[mode].append(res)
            printRound(n + 1, mode, res, width)
    return results


def printRawComparison(
    title: str, results: dict[str, list[dict]], oursMode: str, oursLabel: str, ratioLabel: str
) -> None:
    """The W4-style table: medians of ``raw`` and of ``oursMode`` per metric, and their ratio."""
    med = {m: {k: median(results[m], k) for k in W4_KEYS} for m in ("raw", oursMode)}
    ratioWidth = len(ratioLabel)
    print(title)
    print(f"{'metric':24s} {'raw autobahn':>14s} {oursLabel:>14s} {ratioLabel:>{ratioWidth + 1}s}")
    for k in W4_KEYS:
        raw, ours = med["raw"][k], med[oursMode][k]
        print(f"{k:24s} {raw:14.3f} {ours:14.3f} {ours / raw:{ratioWidth}.0%}")
