"""Test helpers for plugin authors: real servers, a reactor waiter and the plugin harness.

``PluginHarness`` runs a plugin through the real loader of one service in the test process;
``PostgreSQLTestServer`` and ``RedisTestServer`` run throwaway servers;
``TestCertificates.makeTestPki`` writes a CA with server and client certificates for TLS;
``pytest_plugin`` wraps them as fixtures (``peekPostgresUrl``, ``peekRedisUrl``,
``peekTestPki``, ``peekPluginHarness``...).
"""
