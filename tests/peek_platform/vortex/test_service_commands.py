"""Service commands from logic to one linked service, over real loopback vortex links."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path

import pytest
from twisted.internet import defer, reactor

from peek_platform.plugin.control_commands import recordEnabled
from peek_platform.process.commands import ServiceCommandError, ServiceCommands
from peek_platform.vortex.service_commands import (
    SERVICE_COMMAND_FILT,
    CommandRequest,
    ServiceCommandClient,
    ServiceCommandServer,
)
from peek_plugin_base.testing.ReactorWait import spinReactorUntil, waitForDeferred
from vortex.Payload import Payload


def _linkedVortexes():
    """tests/vortex/rpc/linkedvortexes.py, imported once under its own name."""
    module = sys.modules.get("linkedvortexes")
    if module is None:
        path = Path(__file__).parents[2] / "vortex" / "rpc" / "linkedvortexes.py"
        spec = importlib.util.spec_from_file_location("linkedvortexes", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["linkedvortexes"] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture
def linked():
    """Logic (server) and field (client) factories, field answering from its own table."""
    lv = _linkedVortexes()
    vortexes = lv.Vortexes()
    logic = vortexes.server(lv.LOGIC)
    field = vortexes.client(lv.FIELD, lv.LOGIC)
    commands = ServiceCommands()
    server = ServiceCommandServer(field, commands)
    server.start()
    client = ServiceCommandClient(logic, reactor)
    client.start()
    fieldUuid = next(i.uuid for i in logic.remoteVortexes() if i.name == lv.FIELD)
    yield {
        "vortexes": vortexes,
        "logic": logic,
        "field": field,
        "commands": commands,
        "client": client,
        "fieldUuid": fieldUuid,
    }
    client.stop()
    server.stop()
    vortexes.shutdown()


def call(linked, command, args=None, timeout=5.0):
    return linked["client"].call(linked["fieldUuid"], command, args or {}, timeout=timeout)


def test_a_command_runs_on_the_service_and_its_result_comes_back(linked):
    """logic -> field: the handler gets the arguments, logic gets the handler's document."""
    seen = []
    linked["commands"].add("echo", lambda args: seen.append(args) or {"got": args["x"] * 2})

    assert waitForDeferred(call(linked, "echo", {"x": 21})) == {"got": 42}
    assert seen == [{"x": 21}]


def test_a_refusal_arrives_with_its_message(linked):
    """A handler raising ServiceCommandError fails logic's call with that message."""

    def refuse(args):
        raise ServiceCommandError("peek_plugin_x: is not enabled on the field service")

    linked["commands"].add("refuse", refuse)
    with pytest.raises(ServiceCommandError, match="is not enabled on the field service"):
        waitForDeferred(call(linked, "refuse"))


def test_an_unexpected_error_is_logged_and_answered_as_internal(linked, caplog):
    """Another exception: logged with its traceback on the service, 'internal error' to logic."""

    def broken(args):
        raise ValueError("bad state")

    linked["commands"].add("broken", broken)
    caplog.set_level(logging.ERROR)
    with pytest.raises(ServiceCommandError, match=r"internal error: ValueError: bad state"):
        waitForDeferred(call(linked, "broken"))
    assert "Traceback" in caplog.text and "bad state" in caplog.text


def test_an_unknown_command_names_the_known_ones(linked):
    """An unknown command is refused, listing what the service answers."""
    linked["commands"].add("one", lambda args: {})
    with pytest.raises(ServiceCommandError, match=r"unknown command 'two' \(known: one\)"):
        waitForDeferred(call(linked, "two"))


def test_no_answer_within_the_timeout_fails_the_call(linked):
    """A handler that never answers: the call fails after its timeout, naming it."""
    linked["commands"].add("hang", lambda args: defer.Deferred())
    with pytest.raises(ServiceCommandError, match=r"no answer to 'hang' within 0.2 s"):
        waitForDeferred(call(linked, "hang", timeout=0.2))


def test_a_dropped_link_fails_the_waiting_call(linked):
    """The service's link drops while a command waits: the call fails at once."""
    linked["commands"].add("hang", lambda args: defer.Deferred())
    d = call(linked, "hang", timeout=30)
    linked["vortexes"].drop(linked["logic"], "peek-field-service")
    with pytest.raises(ServiceCommandError, match="the link dropped"):
        waitForDeferred(d)


def test_commands_from_another_service_are_not_run(linked):
    """Only logic may send commands: the same message as if from the agent is not run, as
    if from logic it is."""
    lv = _linkedVortexes()
    seen = []
    linked["commands"].add("echo", lambda args: seen.append(args["n"]) or {})

    def deliver(n, sender):
        request = CommandRequest(f"r{n}", "echo", {"n": n})
        msg = Payload(filt=dict(SERVICE_COMMAND_FILT), tuples=[request.toDocument()]).toVortexMsg()
        waitForDeferred(linked["field"].sendVortexMsgLocally(msg, vortexName=sender))

    deliver(1, lv.AGENT)
    deliver(2, lv.LOGIC)
    spinReactorUntil(lambda: seen)
    assert seen == [2]


def test_the_command_table_refuses_a_second_handler_and_removes_one():
    """add() twice for one name is an error; the remover takes the command away."""
    commands = ServiceCommands()
    remove = commands.add("x", lambda args: {})
    with pytest.raises(ValueError, match="already has a handler"):
        commands.add("x", lambda args: {})
    remove()
    assert commands.names() == []


def test_record_enabled_adds_and_removes_atomically(tmp_path):
    """plugin.enabled gains and loses the plugin; other settings stay as they were."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"plugin": {"enabled": ["a"]}, "logging": {"level": "INFO"}}))

    assert recordEnabled(path, "b", True) == f"{path} updated"
    assert json.loads(path.read_text())["plugin"]["enabled"] == ["a", "b"]
    assert recordEnabled(path, "a", False) == f"{path} updated"
    assert json.loads(path.read_text()) == {
        "plugin": {"enabled": ["b"]},
        "logging": {"level": "INFO"},
    }
    assert recordEnabled(path, "a", False) == f"{path} already says so"


def test_record_enabled_never_rewrites_a_commented_config(tmp_path):
    """A config with comments is left byte for byte as it was, and the answer says why."""
    path = tmp_path / "config.json"
    text = '{\n  // the plugins\n  "plugin": {"enabled": ["a"]}\n}\n'
    path.write_text(text)

    message = recordEnabled(path, "a", False)

    assert "has comments and was not rewritten" in message
    assert path.read_text() == text
