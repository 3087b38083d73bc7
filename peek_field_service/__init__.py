"""The Peek field service."""
