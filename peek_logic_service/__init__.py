"""The Peek logic service."""
