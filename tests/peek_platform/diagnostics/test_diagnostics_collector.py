"""``diagnostics.collect`` on a real service context: every section, and no secret in it."""

from __future__ import annotations

import json

from twisted.internet.task import Clock

from peek_platform.diagnostics.collector import (
    DIAGNOSTICS_COMMAND,
    LOG_BYTES,
    LOG_LINES,
    NO_METRICS,
    DiagnosticsCollector,
)
from peek_platform.log_files import readLogTail
from peek_platform.process.commands import ServiceCommandError
from peek_platform.services import LOGIC
from vortex.PayloadIO import PayloadIO
from vortex.VortexFactory import VortexFactory

EXCHANGE_SECRET = "collector-exchange-secret-0815"
RECOVERY_PASSWORD = "collector-recovery-pw-0815"
DB_PASSWORD = "collector-db-pw-0815"
LDAP_PASSWORD = "collector-ldap-pw-0815"
SECRETS = (EXCHANGE_SECRET, RECOVERY_PASSWORD, DB_PASSWORD, LDAP_PASSWORD)
CONFIG = {
    "dataExchange.secret": EXCHANGE_SECRET,
    "admin.recoveryPassword": RECOVERY_PASSWORD,
    "sqlalchemy.connectUrl": f"postgresql://peek:{DB_PASSWORD}@127.0.0.1/peek",
    "ldap.directories": [
        {
            "name": "corp",
            "url": "ldap://127.0.0.1:1",
            "mode": "search",
            "bindDn": "cn=peek,dc=example",
            "bindPassword": LDAP_PASSWORD,
            "userSearchBase": "dc=example",
            "userSearchFilter": "(uid={user})",
        }
    ],
}


def collect(ctx, factory=None) -> dict:
    results: list = []
    DiagnosticsCollector(ctx, lambda: factory).collect({}).addBoth(results.append)
    assert len(results) == 1 and isinstance(results[0], dict), results
    return results[0]


def test_assemble_registers_the_command(peekServiceContext):
    """Every assembled service answers ``diagnostics.collect``."""
    ctx = peekServiceContext("field")
    assert DIAGNOSTICS_COMMAND in ctx.commands.names()


def test_the_document_has_every_section_and_no_secret(peekServiceContext):
    """Config (redacted), log tail (scrubbed), versions, plugins, links, threads and the
    metrics note; none of the config's secrets anywhere, even when the log holds them."""
    ctx = peekServiceContext(LOGIC, CONFIG)
    log = ctx.home / LOGIC.logFileName
    log.write_text(
        "".join(f"line {n}\n" for n in range(LOG_LINES + 50))
        + f"oops the secret {EXCHANGE_SECRET} and {LDAP_PASSWORD} got logged\n"
        + f"engine postgresql://peek:{DB_PASSWORD}@127.0.0.1/peek\n",
        encoding="utf-8",
    )
    factory = VortexFactory(LOGIC.vortexName, payloadIO=PayloadIO(), reactor=Clock())

    document = collect(ctx, factory)

    assert set(document) == {
        "service",
        "config",
        "log",
        "versions",
        "plugins",
        "links",
        "threads",
        "metrics",
    }
    assert document["service"]["serviceKey"] == "logic"
    assert document["service"]["vortexUuid"] == factory.vortexUuid
    assert document["config"]["dataExchange"]["secret"] == "***"
    assert document["config"]["dataExchange"]["port"] == ctx.config["dataExchange.port"]
    lines = document["log"]["lines"]
    assert len(lines) == LOG_LINES
    assert lines[-2] == "oops the secret *** and *** got logged"
    assert "twisted" in document["versions"]["libraries"]
    assert document["plugins"] == [] and document["links"] == []
    assert "Thread " in document["threads"]
    assert "test_diagnostics_collector" in document["threads"]
    assert document["metrics"] == NO_METRICS
    text = json.dumps(document)
    for secret in SECRETS:
        assert secret not in text


def test_plugin_states_and_timings_are_reported(peekServiceContext):
    """Each enabled plugin's state (by name), version and timings."""
    ctx = peekServiceContext("field", plugins=["peek_plugin_not_installed"])
    plugins = collect(ctx)["plugins"]
    assert [p["name"] for p in plugins] == ["peek_plugin_not_installed"]
    assert plugins[0]["state"] == "pending"
    assert {"loadSeconds", "startSeconds", "reason", "version"} <= plugins[0].keys()


def test_metrics_come_from_the_metrics_command_when_there_is_one(peekServiceContext):
    """A ``metrics.text`` command's text is the snapshot, scrubbed; its failure is a note."""
    ctx = peekServiceContext(LOGIC, CONFIG)
    remove = ctx.commands.add(
        "metrics.text", lambda args: {"text": f'peek_up 1\nleak{{s="{EXCHANGE_SECRET}"}} 1\n'}
    )
    assert collect(ctx)["metrics"] == 'peek_up 1\nleak{s="***"} 1\n'
    remove()

    def refuse(args):
        raise ServiceCommandError("metrics are switched off")

    ctx.commands.add("metrics.text", refuse)
    assert collect(ctx)["metrics"] == "the metrics snapshot failed: metrics are switched off"


def test_read_log_tail_bounds(tmp_path):
    """A missing file has no lines; a long file gives its newest lines within the bytes."""
    assert readLogTail(tmp_path / "none.log", LOG_LINES, LOG_BYTES) == []
    path = tmp_path / "big.log"
    path.write_text("".join(f"{n:05d}\n" for n in range(10000)), encoding="utf-8")
    assert readLogTail(path, lines=3, maxBytes=LOG_BYTES) == ["09997", "09998", "09999"]
    tail = readLogTail(path, lines=5000, maxBytes=600)
    assert tail[-1] == "09999" and len(tail) == 99  # 600 bytes, the cut first line dropped
