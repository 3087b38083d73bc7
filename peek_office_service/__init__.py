"""The Peek office service."""
