"""The ``peek`` parser: help on every level, exit codes for bad usage."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Peek = Callable[..., tuple[int, str, str]]


@pytest.mark.parametrize(
    ("command", "mentions"),
    [
        ([], ["COMMAND", "config", "plugin"]),
        (["config"], ["check"]),
        (["config", "check"], ["SERVICE", "--home", "logic", "worker", "all"]),
        (["plugin"], ["list", "new"]),
        (["plugin", "list"], ["--json"]),
        (["plugin", "new"], ["NAME", "--dir"]),
    ],
    ids=["peek", "config", "config check", "plugin", "plugin list", "plugin new"],
)
def test_helpOnEveryLevelMentionsItsArguments(
    peek: Peek, command: list[str], mentions: list[str]
) -> None:
    """``--help`` exits 0 and names each argument and subcommand of that level."""
    code, out, _ = peek(*command, "--help")
    assert code == 0
    assert out.startswith(f"usage: {' '.join(['peek', *command])} ")
    for word in mentions:
        assert word in out


@pytest.mark.parametrize(
    "command",
    [[], ["config"], ["plugin"], ["frobnicate"], ["config", "check", "mars"], ["plugin", "new"]],
)
def test_badUsageExitsWithTwo(peek: Peek, command: list[str]) -> None:
    """A missing or unknown command or argument prints usage on stderr and exits 2."""
    code, out, err = peek(*command)
    assert code == 2
    assert out == ""
    assert "usage: peek" in err


def test_versionOption(peek: Peek) -> None:
    """``peek --version`` prints the platform version and exits 0."""
    from peek_platform import __version__

    code, out, _ = peek("--version")
    assert (code, out.strip()) == (0, f"peek {__version__}")
