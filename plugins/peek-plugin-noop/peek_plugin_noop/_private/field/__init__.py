"""The noop plugin's code that runs on the field service."""
