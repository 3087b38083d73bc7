"""The messaging test plugin on logic."""
