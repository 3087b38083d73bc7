"""Tests for peek_platform/logging_setup.py."""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from twisted.logger import LogBeginner, Logger, LogPublisher

from peek_platform.config import ServiceConfig, loadServiceConfig, writeConfigFile
from peek_platform.logging_setup import LoggingHandle, routeTwistedLogging, setupLogging
from peek_platform.services import AGENT, LOGIC

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) ([\w.]+): (.*)$")


def _config(home: Path, **logging_: object) -> ServiceConfig:
    """Load a config for ``home`` whose ``logging`` section holds ``logging_``."""
    writeConfigFile(home / "config.json", {"logging": logging_})
    return loadServiceConfig(LOGIC, home)


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A private logger that does not propagate, so tests never touch the root logger."""
    log = logging.getLogger(f"test_logging_setup.{request.node.name}")
    log.propagate = False
    yield log
    log.propagate = True


@pytest.fixture
def handles() -> Iterator[list[LoggingHandle]]:
    """Collects handles and closes them after the test so no file stays open."""
    opened: list[LoggingHandle] = []
    yield opened
    for handle in opened:
        handle.close()


def _lines(path: Path) -> list[str]:
    """The lines of a log file."""
    return path.read_text(encoding="utf-8").splitlines()


def test_log_file_path_format_and_level(
    tmp_path: Path, logger: logging.Logger, handles: list[LoggingHandle]
) -> None:
    """Records at or above the level go to ``<home>/<logFileName>`` as ``time LEVEL name: msg``."""
    config = _config(tmp_path, level="warning", logToStdout=False)
    handles.append(setupLogging(AGENT, tmp_path, config, logger=logger))
    logger.info("dropped")
    logger.warning("kept %s", "value")
    logger.error("also kept")
    lines = _lines(tmp_path / "peek-agent.log")
    parsed = [LINE.match(line).groups() for line in lines]
    assert parsed == [
        ("WARNING", logger.name, "kept value"),
        ("ERROR", logger.name, "also kept"),
    ]


def test_debug_level_records_debug(
    tmp_path: Path, logger: logging.Logger, handles: list[LoggingHandle]
) -> None:
    """``logging.level`` DEBUG lets debug records through."""
    config = _config(tmp_path, level="DEBUG", logToStdout=False)
    handles.append(setupLogging(LOGIC, tmp_path, config, logger=logger))
    logger.debug("detail")
    assert [LINE.match(line).group(1) for line in _lines(tmp_path / "peek-logic.log")] == ["DEBUG"]


def test_console_gets_the_same_lines_when_enabled(
    tmp_path: Path, logger: logging.Logger, handles: list[LoggingHandle]
) -> None:
    """With ``logToStdout`` the console stream receives the formatted records too."""
    stream = io.StringIO()
    handles.append(setupLogging(LOGIC, tmp_path, _config(tmp_path), stream=stream, logger=logger))
    logger.info("hello")
    assert stream.getvalue().splitlines() == _lines(tmp_path / "peek-logic.log")
    assert LINE.match(stream.getvalue()).group(3) == "hello"


def test_console_is_silent_when_disabled(
    tmp_path: Path, logger: logging.Logger, handles: list[LoggingHandle]
) -> None:
    """Without ``logToStdout`` nothing is written to the console stream."""
    stream = io.StringIO()
    config = _config(tmp_path, logToStdout=False)
    handles.append(setupLogging(LOGIC, tmp_path, config, stream=stream, logger=logger))
    logger.warning("file only")
    assert stream.getvalue() == ""
    assert len(_lines(tmp_path / "peek-logic.log")) == 1


def test_rotation_at_configured_size_keeps_configured_count(
    tmp_path: Path, logger: logging.Logger, handles: list[LoggingHandle]
) -> None:
    """The file rotates at ``rotateSizeMb`` MiB and keeps ``rotationsToKeep`` old files."""
    config = _config(tmp_path, rotateSizeMb=1, rotationsToKeep=2, logToStdout=False)
    handles.append(setupLogging(LOGIC, tmp_path, config, logger=logger))
    payload = "x" * 1000
    for _ in range(3500):
        logger.info(payload)
    names = sorted(p.name for p in tmp_path.glob("peek-logic.log*"))
    assert names == ["peek-logic.log", "peek-logic.log.1", "peek-logic.log.2"]
    for name in names:
        assert (tmp_path / name).stat().st_size <= 1024 * 1024
    assert (tmp_path / "peek-logic.log.1").stat().st_size > 1024 * 1024 - 1100


def test_close_removes_handlers_and_restores_level(tmp_path: Path, logger: logging.Logger) -> None:
    """After ``close`` the logger has its old handlers and level, and the file gets nothing."""
    logger.setLevel(logging.CRITICAL)
    before = list(logger.handlers)
    handle = setupLogging(LOGIC, tmp_path, _config(tmp_path, logToStdout=False), logger=logger)
    added = list(handle.handlers)
    assert logger.level == logging.INFO
    assert all(handler in logger.handlers for handler in added)
    handle.close()
    logger.critical("after close")
    assert logger.handlers == before
    assert logger.level == logging.CRITICAL
    assert (tmp_path / "peek-logic.log").read_text(encoding="utf-8") == ""


def test_default_target_is_the_root_logger(tmp_path: Path) -> None:
    """Without ``logger`` the handlers go on the root logger, and ``close`` takes them off."""
    root = logging.getLogger()
    before = list(root.handlers)
    handle = setupLogging(LOGIC, tmp_path, _config(tmp_path, logToStdout=False))
    try:
        added = [h for h in root.handlers if h not in before]
        assert [type(h).__name__ for h in added] == ["RotatingFileHandler"]
    finally:
        handle.close()
    assert root.handlers == before


def test_missing_home_is_created(tmp_path: Path, logger: logging.Logger) -> None:
    """The log directory is created when the home does not exist yet."""
    config = loadServiceConfig(LOGIC, tmp_path / "cfg", writeBack=False)
    home = tmp_path / "new-home"
    handle = setupLogging(LOGIC, home, config, stream=io.StringIO(), logger=logger)
    handle.close()
    assert (home / "peek-logic.log").is_file()


def test_twisted_events_reach_python_logging(caplog: pytest.LogCaptureFixture) -> None:
    """Events logged with ``twisted.logger`` arrive as Python records on the ``twisted`` logger."""
    publisher = LogPublisher()
    beginner = LogBeginner(
        publisher,
        io.StringIO(),
        SimpleNamespace(stdout=io.StringIO(), stderr=io.StringIO()),
        SimpleNamespace(showwarning=warnings.showwarning),
    )
    routeTwistedLogging(beginner)
    caplog.set_level(logging.INFO, logger="twisted")
    Logger(namespace="peek_plugin_x.logic", observer=publisher).warn("started {n}", n=3)
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("twisted", "WARNING", "started 3")
    ]
