"""Contract for plugins on the field service (serves the field app)."""
