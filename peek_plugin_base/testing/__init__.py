"""Test helpers that need no Peek runtime: real throwaway servers, ports and reactor waits.

``PostgreSQLTestServer``, ``RedisTestServer`` and ``SlapdTestServer`` run throwaway
servers; ``FreePort`` finds free TCP ports; ``ReactorWait`` and ``ThreadReactor`` wait on
Deferreds; ``TestCertificates.makeTestPki`` writes a CA with server and client certificates
for TLS. The helpers that need the runtime (the plugin harness, the pytest plugin with its
``peekPostgresUrl``, ``peekRedisUrl``, ``peekSlapd`` ... fixtures) are in
``peek_platform.testing``.
"""
