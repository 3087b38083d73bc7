"""Mutation testing of the core: run mutmut on chosen modules, then print a score per module.

    python -m tests.mutation                  # every module, in priority order
    python -m tests.mutation rpc config       # only these
    python -m tests.mutation --score-only     # print the scores of the last run

mutmut is configured in pyproject.toml (``[tool.mutmut]``); it works in ``./mutants`` and
keeps every verdict there, so a second run only tries what is new or changed. Not part of
the default test command: it takes hours on a 2-core machine. See
docs/dev/mutation-testing.rst for the modules, the latest scores and the equivalent mutants.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Module name -> glob of its mutant names, in the order they are run.
MODULES: dict[str, str] = {
    "rpc": "vortex.rpc.*",
    "handler": "vortex.handler.*",
    "config": "peek_platform.config.*",
    "login": "peek_platform.web.*",
    "transport": "vortex.transport.*",
    "plugin": "peek_platform.plugin.*",
}

#: mutmut's exit codes of a mutant's test run: the tests caught it ...
DETECTED = {1, 3, 24, -24, 36, 37, 152, 255, -9, -11}
#: ... or they did not (no test reached the function counts as not caught).
NOT_DETECTED = {0, 5, 33}

#: An equivalent mutant named in the doc, e.g. ``vortex.rpc.RPC.xǁ_Replyǁsend__mutmut_3``.
EQUIVALENT_NAME = re.compile(r"``([\w.]+(?:ǁ\w+ǁ)?\w*__mutmut_\d+)``")


def equivalentMutants() -> set[str]:
    """The mutants listed under "Equivalent mutants" in docs/dev/mutation-testing.rst."""
    doc = ROOT / "docs" / "dev" / "mutation-testing.rst"
    text = doc.read_text(encoding="utf-8")
    return set(EQUIVALENT_NAME.findall(text.partition("\nEquivalent mutants\n")[2]))


def verdicts() -> dict[str, int | None]:
    """Every mutant's exit code from the last runs (None: not tried yet)."""
    result: dict[str, int | None] = {}
    for meta in (ROOT / "mutants").rglob("*.py.meta"):
        result.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return result


def moduleOf(mutantName: str) -> str | None:
    """The MODULES key a mutant belongs to."""
    for module, pattern in MODULES.items():
        if mutantName.startswith(pattern.removesuffix("*")):
            return module
    return None


def printScores() -> dict[str, Counter[str]]:
    """Print killed / survived / equivalent / untried and the score per module."""
    equivalent = equivalentMutants()
    counts: dict[str, Counter[str]] = {module: Counter() for module in MODULES}
    for name, code in verdicts().items():
        module = moduleOf(name)
        if module is None:
            continue
        if code is None:
            counts[module]["untried"] += 1
        elif code in DETECTED:
            counts[module]["killed"] += 1
        elif code in NOT_DETECTED:
            counts[module]["equivalent" if name in equivalent else "survived"] += 1
        else:
            counts[module]["other"] += 1
    print(f"{'module':<10} {'killed':>7} {'survived':>8} {'equiv':>6} {'untried':>7} {'score':>6}")
    for module, c in counts.items():
        judged = c["killed"] + c["survived"]
        score = f"{100 * c['killed'] / judged:.1f}%" if judged else "-"
        print(
            f"{module:<10} {c['killed']:>7} {c['survived']:>8} {c['equivalent']:>6} "
            f"{c['untried'] + c['other']:>7} {score:>6}"
        )
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--children", type=int, default=2, help="parallel mutants (default 2)")
    parser.add_argument("--score-only", action="store_true", help="only print the scores")
    args = parser.parse_args()
    unknown = set(args.modules) - set(MODULES)
    if unknown:
        known = ", ".join(MODULES)
        parser.error(f"unknown module(s) {', '.join(sorted(unknown))}; choose from {known}")
    if not args.score_only:
        for module in args.modules or list(MODULES):
            # The mutmut script, not ``python -m mutmut``: mutmut must not import itself twice.
            command = ["nice", "-n", "15", str(Path(sys.executable).parent / "mutmut"), "run"]
            command += ["--max-children", str(args.children), MODULES[module]]
            print("$", " ".join(command), flush=True)
            subprocess.run(command, cwd=ROOT, check=False)
    printScores()
    return 0


if __name__ == "__main__":
    sys.exit(main())
