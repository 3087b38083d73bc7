"""Plugin discovery, validation, ordering and lifecycle for every Peek service (DESIGN.md §4)."""
