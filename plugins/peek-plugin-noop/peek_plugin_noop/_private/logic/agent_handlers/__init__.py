"""RPCs the agent service calls on the logic service."""
