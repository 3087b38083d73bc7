"""Runtime shared by every Peek service: config, logging, plugin loading, processes, CLI."""

__version__ = "0.1.0"
