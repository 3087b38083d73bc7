"""The Peek worker service."""
