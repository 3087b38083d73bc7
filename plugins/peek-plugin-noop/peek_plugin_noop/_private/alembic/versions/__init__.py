"""The noop plugin's revision scripts, oldest first by ``down_revision``."""
