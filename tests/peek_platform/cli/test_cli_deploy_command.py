"""``peek deploy systemd``: units for every service, verified by ``systemd-analyze verify``."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from peek_platform.cli.deploy_command import ENV_FILE_NAME, TARGET_NAME, unitName
from peek_platform.services import ALL_SERVICES, HOME_ROOT_ENV, LOGIC

Peek = Callable[..., tuple[int, str, str]]

#: The installed ``peek`` console script of this environment.
PEEK = Path(sys.executable).parent / "peek"

#: Every file the command writes.
ALL_FILES = [*(unitName(spec) for spec in ALL_SERVICES), TARGET_NAME, ENV_FILE_NAME]


def readUnit(path: Path) -> dict[str, list[str]]:
    """``KEY`` -> values of every ``KEY=value`` line of a unit file (sections merged)."""
    settings: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def systemdAnalyzeVerify(out: Path) -> None:
    """``systemd-analyze verify`` the written units; fail on any complaint about them.

    A missing ``systemd-analyze`` fails the test: ``.ci/install-deps`` installs it.
    """
    program = shutil.which("systemd-analyze")
    assert program is not None, (
        "systemd-analyze is not installed; run .ci/install-deps (Debian package systemd)"
    )
    units = [str(out / unitName(spec)) for spec in ALL_SERVICES] + [str(out / TARGET_NAME)]
    result = subprocess.run(
        [program, "verify", "--man=no", *units],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    complaints = [line for line in result.stderr.splitlines() if str(out) in line]
    assert result.returncode == 0, result.stderr
    assert complaints == [], result.stderr


def test_writes_a_verified_unit_per_service_in_start_order(tmp_path: Path) -> None:
    """The installed ``peek`` writes one unit per service, the target and the env file;
    ordering, user, environment file and ExecStart are right and systemd accepts them."""
    out = tmp_path / "units"
    root = tmp_path / "homes"
    user = getpass.getuser()
    env = {key: value for key, value in os.environ.items() if key != HOME_ROOT_ENV}
    argv = [str(PEEK), "deploy", "systemd", "--user", user, "--out", str(out)]
    result = subprocess.run(
        [*argv, "--home-root", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == sorted(ALL_FILES)
    for name in ALL_FILES:
        assert f"wrote {out / name}" in result.stdout

    for spec in ALL_SERVICES:
        unit = readUnit(out / unitName(spec))
        expected = ["network-online.target"]
        if spec is not LOGIC:
            expected.append(unitName(LOGIC))
        assert unit["After"] == [" ".join(expected)]
        assert unit["Wants"] == [" ".join(expected)]
        assert unit["Restart"] == ["on-failure"]
        assert unit["User"] == [user]
        assert unit["EnvironmentFile"] == [f"-{out / ENV_FILE_NAME}"]
        script = Path(sys.executable).parent / spec.command
        assert unit["ExecStart"] == [f"{script} --home {root / spec.homeDirName}"]
        assert script.is_absolute() and os.access(script, os.X_OK)
        assert unit["WantedBy"] == [TARGET_NAME]

    target = readUnit(out / TARGET_NAME)
    assert target["Wants"] == [
        " ".join(["network-online.target", *(unitName(spec) for spec in ALL_SERVICES)])
    ]
    assert readUnit(out / ENV_FILE_NAME)[HOME_ROOT_ENV] == [str(root)]
    systemdAnalyzeVerify(out)


def test_without_user_and_with_awkward_paths_the_units_still_verify(
    peek: Peek, tmp_path: Path
) -> None:
    """No ``User=`` without ``--user``; spaces, ``%`` and ``$`` in paths are escaped."""
    out = tmp_path / "unit dir"
    root = tmp_path / "homes 100% $HOME"
    code, _, err = peek("deploy", "systemd", "--out", str(out), "--home-root", str(root))
    assert code == 0, err
    unit = readUnit(out / unitName(LOGIC))
    assert "User" not in unit
    assert "%%" in unit["ExecStart"][0] and "$$HOME" in unit["ExecStart"][0]
    systemdAnalyzeVerify(out)


def test_home_root_defaults_to_the_environment(
    peek: Peek, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--home-root`` the homes are under ``$PEEK_HOME_ROOT``."""
    monkeypatch.setenv(HOME_ROOT_ENV, str(tmp_path / "root"))
    code, _, err = peek("deploy", "systemd", "--out", str(tmp_path / "out"), "--user", "root")
    assert code == 0, err
    execStart = readUnit(tmp_path / "out" / unitName(LOGIC))["ExecStart"][0]
    assert execStart.endswith(f" --home {tmp_path / 'root' / LOGIC.homeDirName}")


def test_refuses_to_overwrite_a_different_file_unless_forced(peek: Peek, tmp_path: Path) -> None:
    """A changed file is named and nothing is written; the same content is 'unchanged';
    ``--force`` replaces it."""
    out = tmp_path / "out"
    args = ("deploy", "systemd", "--out", str(out), "--home-root", str(tmp_path / "homes"))
    assert peek(*args)[0] == 0

    code, out1, _ = peek(*args)
    assert code == 0
    assert f"unchanged {out / TARGET_NAME}" in out1

    edited = out / unitName(LOGIC)
    edited.write_text("# mine\n", encoding="utf-8")
    (out / TARGET_NAME).unlink()
    code, _, err = peek(*args, "--user", "root")
    assert code == 1
    assert str(edited) in err and "--force" in err
    assert edited.read_text(encoding="utf-8") == "# mine\n"
    assert not (out / TARGET_NAME).exists()
    assert "User" not in readUnit(out / unitName(ALL_SERVICES[1]))

    code, _, err = peek(*args, "--user", "root", "--force")
    assert code == 0, err
    assert readUnit(edited)["User"] == ["root"]
    assert not [path for path in out.iterdir() if path.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("user", "message"),
    [("", "empty"), ("peek admin", "whitespace"), ("-peek", "not valid")],
    ids=["empty", "spaces", "leading dash"],
)
def test_bad_user_is_a_usage_error(peek: Peek, tmp_path: Path, user: str, message: str) -> None:
    """An empty user or one with spaces exits 2 with usage and writes nothing."""
    out = tmp_path / "out"
    code, stdout, err = peek("deploy", "systemd", f"--user={user}", "--out", str(out))
    assert code == 2
    assert stdout == ""
    assert "usage: peek deploy systemd" in err
    assert "--user" in err and message in err
    assert not out.exists()


def test_help_names_every_option(peek: Peek) -> None:
    """``peek deploy systemd --help`` documents the options and the unit names."""
    code, out, _ = peek("deploy", "systemd", "--help")
    assert code == 0
    for word in ("--user", "--out", "--home-root", "--force", TARGET_NAME, ENV_FILE_NAME):
        assert word in out
    code, out, _ = peek("deploy", "--help")
    assert code == 0 and "systemd" in out
