"""Tests for peek_plugin_base/testing/RedisTestServer.py: a real throwaway redis-server."""

from __future__ import annotations

import socket

import pytest
import redis

from peek_plugin_base.testing.FreePort import freeTcpPortBlock
from peek_plugin_base.testing.RedisTestServer import RedisNotInstalled, RedisTestServer


def test_server_starts_accepts_commands_and_stops():
    """start() answers commands over a client, stop() closes the port."""
    server = RedisTestServer()
    server.start()
    try:
        client = redis.Redis.from_url(server.url(3))
        client.set("k", "v")
        assert client.get("k") == b"v"
        client.close()
    finally:
        server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_server_listens_on_the_port_given():
    """A server given a port listens there and names it in its URLs."""
    port = freeTcpPortBlock([0])
    server = RedisTestServer(port=port)
    server.start()
    try:
        assert server.port == port
        assert server.url(2) == f"redis://127.0.0.1:{port}/2"
        assert server.command("PING") == "+PONG"
    finally:
        server.stop()


def test_redis_url_fixture_starts_empty(peekRedisServer, peekRedisUrl):
    """peekRedisUrl is database 0 of the session server, flushed of earlier tests' keys."""
    client = redis.Redis.from_url(peekRedisUrl)
    assert client.dbsize() == 0
    client.set("left-behind", "1")
    client.close()
    peekRedisServer.flush()
    assert redis.Redis.from_url(peekRedisUrl).dbsize() == 0


def test_missing_binary_names_the_package(monkeypatch):
    """Without redis-server on PATH the error says what to install."""
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RedisNotInstalled, match="apt-get install redis-server"):
        RedisTestServer()
