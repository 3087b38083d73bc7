"""Contract for plugins on the agent service (external integrations)."""
