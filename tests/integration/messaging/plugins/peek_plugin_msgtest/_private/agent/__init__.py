"""The messaging test plugin on the agent."""
