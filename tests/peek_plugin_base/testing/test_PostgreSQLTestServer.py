"""Tests for peek_plugin_base/testing/PostgreSQLTestServer.py: a real throwaway server."""

from __future__ import annotations

import psycopg2
import pytest

from peek_plugin_base.storage import PostgreSQLTestServer as legacyModule
from peek_plugin_base.testing.PostgreSQLTestServer import PostgreSQLTestServer


def test_server_starts_serves_fresh_databases_and_stops():
    """start() accepts connections, createDatabase() gives distinct empty databases, stop() ends."""
    server = PostgreSQLTestServer()
    server.start()
    try:
        first, second = server.createDatabase(), server.createDatabase()
        assert first != second
        conn = psycopg2.connect(first)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                assert cursor.fetchone() == (0,)
        finally:
            conn.close()
    finally:
        server.stop()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(server.url("postgres"), connect_timeout=2)


def test_postgres_url_fixture_is_a_new_database_each_time(peekPostgresServer, peekPostgresUrl):
    """peekPostgresUrl is a database on the session server that no earlier test created."""
    assert peekPostgresUrl.startswith(f"postgresql://{peekPostgresServer.user}@127.0.0.1:")
    assert peekPostgresUrl != peekPostgresServer.createDatabase()


def test_old_import_path_names_the_same_class():
    """peek_plugin_base.storage.PostgreSQLTestServer still provides the server class."""
    assert legacyModule.PostgreSQLTestServer is PostgreSQLTestServer
