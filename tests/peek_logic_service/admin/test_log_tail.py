"""Tests of the Logs page's data: the tail of a log file and the watcher of its growth."""

from twisted.internet.task import Clock

from peek_logic_service.admin.log_tail import LogFileWatcher
from peek_platform.log_files import readLogTail


def test_tail_is_the_last_lines_without_a_cut_first_line(tmp_path):
    """Only whole lines from the end; a line cut by the byte limit is dropped."""
    path = tmp_path / "peek-logic.log"
    path.write_text("".join(f"line {i:03d}\n" for i in range(100)), encoding="utf-8")
    assert readLogTail(path, lines=3, maxBytes=4096) == ["line 097", "line 098", "line 099"]
    assert readLogTail(path, lines=100, maxBytes=25) == ["line 098", "line 099"]


def test_missing_log_file_has_no_lines(tmp_path):
    """A log file that does not exist yet gives an empty tail."""
    assert readLogTail(tmp_path / "absent.log", lines=10, maxBytes=4096) == []


def test_watcher_reports_growth_once_per_change(tmp_path):
    """onChange runs when the file grows, not while it stays the same."""
    path = tmp_path / "peek-logic.log"
    path.write_text("first\n", encoding="utf-8")
    clock, changes = Clock(), []
    watcher = LogFileWatcher(path, lambda: changes.append(1), clock=clock, interval=1.0)
    watcher.start()
    clock.advance(1)
    assert changes == []
    with path.open("a", encoding="utf-8") as f:
        f.write("second\n")
    clock.advance(1)
    clock.advance(1)
    assert changes == [1]
    watcher.stop()
