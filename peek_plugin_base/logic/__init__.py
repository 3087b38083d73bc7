"""Contract for plugins on the logic service (storage, admin, central logic)."""
