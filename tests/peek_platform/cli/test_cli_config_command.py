"""``peek config check``: validate a service's config.json without changing it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from peek_platform.services import ALL_SERVICES, LOGIC

Peek = Callable[..., tuple[int, str, str]]


def _writeConfig(home: Path, text: str) -> Path:
    """Write ``text`` as ``home/config.json``; return its path."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_validConfigIsOkAndUnchanged(peek: Peek, tmp_path: Path) -> None:
    """A valid file prints ``OK: <path>``, exits 0 and is not rewritten with defaults."""
    text = '{"plugin": {"enabled": ["peek_plugin_noop"]}}\n'
    path = _writeConfig(tmp_path / "home", text)

    code, out, err = peek("config", "check", "logic", "--home", str(tmp_path / "home"))

    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"OK: {path}"
    assert path.read_text(encoding="utf-8") == text


def test_missingConfigIsOkAndNotCreated(peek: Peek, tmp_path: Path) -> None:
    """A home without config.json is valid (defaults apply) and nothing is created."""
    home = tmp_path / "home"

    code, out, _ = peek("config", "check", "worker", "--home", str(home))

    assert code == 0
    assert out.splitlines()[0] == f"OK: {home / 'config.json'}"
    assert "writes one with defaults" in out
    assert not home.exists()


def test_malformedConfigExitsTwoWithPosition(peek: Peek, tmp_path: Path) -> None:
    """A file that does not parse prints one ``path:line:col: message`` line and exits 2."""
    text = '{\n  "plugin": {"enabled": []}\n  "oops"\n}\n'
    path = _writeConfig(tmp_path / "home", text)

    code, out, err = peek("config", "check", "logic", "--home", str(tmp_path / "home"))

    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert err.startswith(f"{path}:3:")
    assert path.read_text(encoding="utf-8") == text


def test_wrongTypeExitsTwoNamingTheKey(peek: Peek, tmp_path: Path) -> None:
    """A value of the wrong type is reported with its dotted key; exit 2, file unchanged."""
    text = '{"plugin": {"enabled": "peek_plugin_noop"}}'
    path = _writeConfig(tmp_path / "home", text)

    code, _, err = peek("config", "check", "field", "--home", str(tmp_path / "home"))

    assert code == 2
    assert err.startswith(f"{path}:1:")
    assert "plugin.enabled" in err
    assert path.read_text(encoding="utf-8") == text


def test_allChecksEveryServiceInItsDefaultHome(peek: Peek, homeRoot: Path) -> None:
    """``all`` (the default) checks each service's default home; one bad file means exit 2."""
    badPath = _writeConfig(homeRoot / LOGIC.homeDirName, "{")

    code, out, err = peek("config", "check")

    okLines = [line for line in out.splitlines() if line.startswith("OK: ")]
    expected = [f"OK: {homeRoot / s.homeDirName / 'config.json'}" for s in ALL_SERVICES[1:]]
    assert code == 2
    assert okLines == expected
    assert err.startswith(f"{badPath}:")


def test_defaultHomeFollowsPeekHomeRoot(peek: Peek, homeRoot: Path) -> None:
    """Without --home a single service is checked in ``$PEEK_HOME_ROOT/<service>.home``."""
    code, out, _ = peek("config", "check", "agent")
    assert code == 0
    assert out.splitlines()[0] == f"OK: {homeRoot / 'peek-agent-service.home' / 'config.json'}"


@pytest.mark.parametrize("service", [[], ["all"]])
def test_homeNeedsASingleService(peek: Peek, tmp_path: Path, service: list[str]) -> None:
    """--home with every service is a usage error (exit 2) that says to name the SERVICE."""
    code, _, err = peek("config", "check", *service, "--home", str(tmp_path))
    assert code == 2
    assert "name the SERVICE" in err
