"""Contract for plugins on the office service (serves the office app)."""
