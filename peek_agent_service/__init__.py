"""The Peek agent service."""
