"""Test helpers that need the Peek runtime: the plugin harness, the service builder, the
in-memory browser, service processes and the pytest plugin.

Helpers that need no runtime (free ports, reactor waits, throwaway PostgreSQL and Redis,
test certificates) stay in ``peek_plugin_base.testing``; see :doc:`/dev/architecture`.
"""
