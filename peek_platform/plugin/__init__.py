"""Plugin discovery, validation, ordering and lifecycle for every service (docs/dev/loader.rst)."""
