"""The noop plugin's public API on the logic service, for other plugins on that service."""
