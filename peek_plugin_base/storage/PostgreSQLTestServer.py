"""Former home of the throwaway PostgreSQL test server; it lives in ``peek_plugin_base.testing``.

Kept so imports written against this path keep working.
"""

from peek_plugin_base.testing.PostgreSQLTestServer import (
    PG_BIN_GLOB,
    PostgreSQLNotInstalled,
    PostgreSQLTestServer,
    findPostgresBinDir,
)

__all__ = ["PG_BIN_GLOB", "PostgreSQLNotInstalled", "PostgreSQLTestServer", "findPostgresBinDir"]
