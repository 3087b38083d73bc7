"""Tests for peek_plugin_base/testing/FreePort.py: free, blocked and held localhost ports."""

from __future__ import annotations

import socket

import pytest

from peek_plugin_base.testing.FreePort import (
    PORT_BLOCK_RANGE,
    freeTcpPort,
    freeTcpPortBlock,
    heldTcpPort,
    tcpPortIsFree,
)


def test_free_port_can_be_listened_on():
    """The port returned can be bound and listened on at once."""
    port = freeTcpPort()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()


def test_port_block_has_every_offset_free_below_the_ephemeral_range():
    """Every ``base + offset`` is free, and the block lies in the range asked for."""
    offsets = [0, 1, 10, 11]
    base = freeTcpPortBlock(offsets)
    low, high = PORT_BLOCK_RANGE
    assert low <= base and base + max(offsets) < high
    assert all(tcpPortIsFree(base + offset) for offset in offsets)


def test_port_block_fails_naming_the_offsets_when_none_is_free():
    """A range whose only port is taken gives up after its attempts, naming the layout."""
    with heldTcpPort() as port:
        with pytest.raises(RuntimeError, match=r"no free block of ports \[0\]"):
            freeTcpPortBlock([0], attempts=3, portRange=(port, port + 1))


def test_held_port_is_taken_and_refuses_connections():
    """A port held without listening cannot be bound by others and refuses connections;
    once the block ends it is free again."""
    with heldTcpPort() as port:
        assert not tcpPortIsFree(port)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
    assert tcpPortIsFree(port)


def test_held_listening_port_accepts_connections():
    """With ``listen`` the held port is a port in use: a connection is accepted (queued)."""
    with heldTcpPort(listen=True) as port:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert not tcpPortIsFree(port)
