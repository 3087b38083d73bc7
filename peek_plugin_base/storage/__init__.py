"""Storage helpers for logic and worker plugins: connections, migrations and SQL utilities."""
