"""Logic service storage: database URL, platform schema, plugin migrations and settings."""
