"""Tests for peek_platform/testing/ServiceProcess.py: commands run as real child processes."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from peek_platform.services import FIELD
from peek_platform.testing.ServiceProcess import (
    ServiceProcess,
    ServiceProcessError,
    consoleScript,
    killProcessGroup,
)

#: Prints its child's pid, then sleeps; the child sleeps too (both in the same group).
PARENT_WITH_CHILD = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "print('child', child.pid, flush=True)\n"
    "time.sleep(60)\n"
)
#: Ignores SIGTERM, says so, and sleeps.
IGNORES_SIGTERM = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ignoring', flush=True)\n"
    "time.sleep(60)\n"
)


def running(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie awaiting its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def python() -> Iterator[Callable[..., ServiceProcess]]:
    """``python(source, *args, **kwargs)``: ``python -c source args`` as a ServiceProcess;
    each is killed (with its group) at teardown."""
    started: list[ServiceProcess] = []

    def start(source: str, *args: str, **kwargs) -> ServiceProcess:
        kwargs.setdefault("timeout", 10.0)
        started.append(ServiceProcess([sys.executable, "-c", source, *args], **kwargs))
        return started[-1]

    yield start
    for process in started:
        process.kill()


def test_lines_of_stdout_and_stderr_are_collected_in_order(python):
    """Both streams land in ``lines`` without line ends; the exit status is returned."""
    process = python("import sys; print('one'); sys.stderr.write('two\\n'); print('three')")
    assert process.wait() == 0
    assert process.lines == ["one", "two", "three"]
    assert process.output() == "one\ntwo\nthree"
    assert process.exitStatus == 0


def test_args_and_env_reach_the_command(python):
    """Arguments follow the command; ``env`` is the whole environment of the process."""
    source = "import os, sys; print(sys.argv[1:], os.environ.get('SP_TEST'), 'HOME' in os.environ)"
    process = python(source, "a", "b c", env={"SP_TEST": "set"})
    assert process.waitForLine(r"^\['a', 'b c'\] set False$")


def test_wait_for_line_returns_the_match_of_a_line_printed_later(python):
    """A wait blocks until the line arrives and returns its match, groups included."""
    process = python("import time; time.sleep(0.3); print('port 4321 ready', flush=True)")
    assert process.waitForLine(r"port (\d+) ready").group(1) == "4321"


def test_wait_for_lines_counts_matches_from_an_index_on(python):
    """``count`` waits for that many matching lines and returns all matches seen; ``after``
    skips earlier lines; a count the process never reaches fails."""
    process = python("for n in range(4): print('tick', n)")
    process.wait()
    assert [m.group(1) for m in process.waitForLines(r"tick (\d)", count=3)] == list("0123")
    assert process.waitForLine(r"tick (\d)", after=2).group(1) == "2"
    with pytest.raises(ServiceProcessError, match=r"^python\S*: 5 line\(s\) matching 'tick'"):
        process.waitForLines("tick", count=5)


def test_missing_line_fails_after_the_timeout_with_the_output(python):
    """A line that never comes fails after ``timeout``, naming the pattern and the output."""
    process = python(IGNORES_SIGTERM, name="sleeper")
    process.waitForLine("ignoring")
    began = time.monotonic()
    with pytest.raises(ServiceProcessError) as info:
        process.waitForLine("never printed", timeout=0.5)
    assert 0.5 <= time.monotonic() - began < 5
    message = str(info.value)
    assert message.startswith("sleeper: 1 line(s) matching 'never printed' not seen within 0.5 s")
    assert "exit status None" in message and message.endswith("\nignoring")


def test_missing_line_fails_at_once_when_the_process_has_exited(python):
    """A process that exits without the line fails the wait without waiting out the timeout."""
    process = python("import sys; print('bye'); sys.exit(3)")
    began = time.monotonic()
    with pytest.raises(ServiceProcessError, match=r"(?s)\(it exited\).*exit status 3\).*\nbye$"):
        process.waitForLine("never printed", timeout=30)
    assert time.monotonic() - began < 10


def test_describe_shows_the_command_and_the_last_lines(python):
    """``describe(tail)`` names the command and pid, and says how many lines it left out."""
    process = python("for n in range(10): print(n)")
    process.wait()
    assert process.describe(tail=3).splitlines() == [
        f"$ {sys.executable} -c for n in range(10): print(n)  (pid {process.pid}, exit status 0)",
        "[... 7 earlier lines ...]",
        "7",
        "8",
        "9",
    ]


def test_process_leads_its_own_process_group(python):
    """The command runs in a new session: its pid is its group id, not the test's group."""
    process = python(IGNORES_SIGTERM)
    assert os.getpgid(process.pid) == process.pid != os.getpgrp()


def test_stop_terminates_and_returns_the_exit_status(python):
    """``stop()`` sends SIGTERM and returns the status of the process it ended."""
    process = python("import time; print('up', flush=True); time.sleep(60)")
    process.waitForLine("up")
    assert process.stop() == -signal.SIGTERM


def test_stop_kills_the_group_when_sigterm_is_ignored(python):
    """A process that ignores SIGTERM is SIGKILLed with its group after ``timeout``."""
    process = python(IGNORES_SIGTERM)
    process.waitForLine("ignoring")
    assert process.stop(timeout=0.5) == -signal.SIGKILL
    assert not running(process.pid)


def test_kill_takes_the_children_in_its_group(python):
    """``kill()`` SIGKILLs the whole process group, so a child it started goes too."""
    process = python(PARENT_WITH_CHILD)
    childPid = int(process.waitForLine(r"child (\d+)").group(1))
    assert running(childPid)
    assert process.kill() == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while running(childPid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(childPid)


def test_kill_process_group_ignores_a_group_that_is_gone(python):
    """Signalling a group whose processes have all exited is no error."""
    process = python("pass")
    process.wait()
    killProcessGroup(process.pid)


def test_signal_reaches_the_process(python):
    """``signal(signum)`` delivers to the process, which can handle it."""
    source = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGUSR1, lambda *a: sys.exit(7))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = python(source)
    process.waitForLine("ready")
    process.signal(signal.SIGUSR1)
    assert process.wait() == 7


def test_wait_fails_with_the_output_when_still_running(python):
    """``wait(timeout)`` on a process that keeps running fails naming it, with its output."""
    process = python(IGNORES_SIGTERM, name="sleeper")
    process.waitForLine("ignoring")
    with pytest.raises(ServiceProcessError, match=r"(?s)^sleeper: still running 0\.2 s later:.*"):
        process.wait(0.2)


def test_separate_stderr_keeps_it_out_of_the_lines(python):
    """With ``separateStderr``, ``lines`` hold stdout only and ``stderrText()`` the rest."""
    source = "import sys; print('out'); sys.stderr.write('err 1\\nerr 2\\n')"
    process = python(source, separateStderr=True)
    assert process.stderrText() == "err 1\nerr 2\n"
    assert process.lines == ["out"]


def test_data_exchange_port_and_site_url_are_read_from_the_log(python):
    """The port logic logs for its data exchange and a site's logged URL are parsed."""
    source = (
        "print('x data exchange listening on ws://127.0.0.1:4321/vortexws')\n"
        "print('y admin site listening on http://127.0.0.1:8123/ (admin)')\n"
    )
    process = python(source)
    assert process.dataExchangePort() == 4321
    assert process.siteUrl("admin") == "http://127.0.0.1:8123"


def test_for_service_runs_the_console_script_with_home(tmp_path):
    """``forService`` runs the service's console script with ``--home``, named by its key
    (a field service without a secret exits 2 saying so)."""
    home = tmp_path / FIELD.homeDirName
    env = dict(os.environ, PEEK_HOME_ROOT=str(tmp_path))
    process = ServiceProcess.forService(FIELD, env, home=home, timeout=30)
    try:
        assert process.argv == [consoleScript(FIELD.command), "--home", str(home)]
        assert process.name == FIELD.key
        assert process.wait() == 2
        assert "dataExchange.secret is empty" in process.output()
    finally:
        process.kill()


def test_console_script_prefers_the_one_beside_the_interpreter():
    """An installed script is found beside ``sys.executable``; a missing one says how to
    install it."""
    assert consoleScript(FIELD.command) == str(Path(sys.executable).parent / FIELD.command)
    with pytest.raises(FileNotFoundError, match=r"no_such_peek_script is not installed.*pip"):
        consoleScript("no_such_peek_script")
