"""README.rst's two commands, and .ci/run running exactly the README's test command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import docutils.core
import docutils.nodes
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
README = REPO_ROOT / "README.rst"
CI_RUN = REPO_ROOT / ".ci" / "run"

RUN_COMMAND = "pip install -e . -e plugins/peek-plugin-noop && run_peek_platform"
TEST_COMMAND = (
    ".ci/install-deps && pip install -e '.[test]' -e plugins/peek-plugin-noop && python -m pytest"
)


def _parseReadme(text: str) -> docutils.nodes.document:
    """Parse reStructuredText, turning any docutils warning into an exception."""
    return docutils.core.publish_doctree(
        text,
        settings_overrides={"report_level": 2, "halt_level": 2, "_disable_config": True},
    )


def _sectionCommands(document: docutils.nodes.document) -> dict[str, list[str]]:
    """Map each section title to the texts of the literal blocks directly inside it."""
    commands: dict[str, list[str]] = {}
    for section in document.findall(docutils.nodes.section):
        title = section.next_node(docutils.nodes.title).astext()
        blocks = [child.astext() for child in section.children if child.tagname == "literal_block"]
        commands[title] = blocks
    return commands


def _runCi(ciDir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``.ci/run`` from ``ciDir`` with ``args`` and capture its output."""
    return subprocess.run(
        ["bash", str(ciDir / ".ci" / "run"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _ciCopy(tmp_path: Path, readmeText: str) -> Path:
    """A directory holding a copy of .ci/run beside the given README text."""
    (tmp_path / ".ci").mkdir()
    shutil.copy2(CI_RUN, tmp_path / ".ci" / "run")
    (tmp_path / "README.rst").write_text(readmeText, encoding="utf-8")
    return tmp_path


def _readmeWithTestCommand(command: str) -> str:
    """README.rst with the test command replaced by ``command``."""
    return README.read_text(encoding="utf-8").replace(TEST_COMMAND, command)


def test_readme_parses_without_warnings() -> None:
    """README.rst is valid reStructuredText (it is also the package's long description)."""
    _parseReadme(README.read_text(encoding="utf-8"))


def test_readme_has_exactly_the_two_commands() -> None:
    """Each of the two headings holds one code block with exactly its one-line command."""
    commands = _sectionCommands(_parseReadme(README.read_text(encoding="utf-8")))
    assert commands["Run the platform"] == [RUN_COMMAND]
    assert commands["Run the tests"] == [TEST_COMMAND]


def test_readme_opens_with_the_two_commands() -> None:
    """The two command sections are the README's first two sections, run before test."""
    document = _parseReadme(README.read_text(encoding="utf-8"))
    titles = [
        section.next_node(docutils.nodes.title).astext()
        for section in document.findall(docutils.nodes.section)
    ]
    assert titles[:2] == ["Run the platform", "Run the tests"]


def test_ci_run_extracts_the_readme_test_command() -> None:
    """``.ci/run --print-command`` prints the README's test command and exits 0."""
    result = _runCi(REPO_ROOT, "--print-command")
    assert result.returncode == 0, result.stderr
    assert result.stdout == TEST_COMMAND + "\n"


def test_ci_run_follows_the_readme(tmp_path: Path) -> None:
    """A different README test command is what .ci/run extracts, so they cannot drift."""
    ciDir = _ciCopy(tmp_path, _readmeWithTestCommand("echo other && python -m pytest -x"))
    result = _runCi(ciDir, "--print-command")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo other && python -m pytest -x\n"


def test_ci_run_fails_without_a_test_command(tmp_path: Path) -> None:
    """A README without a "Run the tests" code block makes .ci/run fail, naming the heading."""
    ciDir = _ciCopy(tmp_path, "Peek\n====\n\nNo commands here.\n")
    result = _runCi(ciDir, "--print-command")
    assert result.returncode != 0
    assert "Run the tests" in result.stderr


@pytest.mark.parametrize(
    ("command", "expectedStatus"),
    [
        ("true", 0),
        ("false", 1),
        ("exit 3", 3),
        # pytest's "no tests collected" must not pass as a success.
        ("exit 5", 1),
    ],
)
def test_ci_run_exit_status(tmp_path: Path, command: str, expectedStatus: int) -> None:
    """.ci/run prints and runs the command and exits with its status; 5 becomes a failure."""
    ciDir = _ciCopy(tmp_path, _readmeWithTestCommand(command))
    result = _runCi(ciDir)
    assert result.returncode == expectedStatus
    assert f"+ {command}\n" in result.stdout
