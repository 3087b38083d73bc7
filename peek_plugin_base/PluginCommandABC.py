"""``peek <plugin> <command>``: admin commands a plugin adds to the ``peek`` CLI.

A plugin declares its commands in ``plugin_package.json`` (``"commands"``, see
docs/plugins/commands.rst); each names a subclass of :class:`PluginCommandABC`, imported
only when that plugin's commands are run or their ``--help`` is asked for.
"""

from __future__ import annotations

import argparse
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any


class PluginCommandError(Exception):
    """Raised by a command to stop with a message (``peek`` prints it and exits with 1)."""


class PluginCommandContextABC(metaclass=ABCMeta):
    """What a running command gets: the logic service's config, the plugin's storage, files.

    The platform has migrated the plugin's schema to its newest revision and run its pending
    install or upgrade hooks before the command runs, so the data is what the installed
    plugin code expects.
    """

    @property
    @abstractmethod
    def pluginName(self) -> str:
        """The plugin's package name, e.g. ``peek_plugin_noop``."""

    @property
    @abstractmethod
    def home(self) -> Path:
        """The logic service's home directory (``--home``)."""

    @abstractmethod
    def configValue(self, dottedKey: str) -> Any:
        """A value of logic's ``config.json`` by dotted key, e.g. ``"plugin.enabled"``."""

    @property
    @abstractmethod
    def dbEngine(self) -> Any:
        """The SQLAlchemy engine of the plugin's schema; ``RuntimeError`` without storage."""

    @property
    @abstractmethod
    def dbSessionCreator(self) -> Callable[[], Any]:
        """A callable returning new ORM sessions of the plugin's schema (close each one)."""

    @property
    @abstractmethod
    def fileStorageDirectory(self) -> Path:
        """``<logic home>/plugin_data/<pluginName>``, as the running plugin sees it."""


class PluginCommandABC(metaclass=ABCMeta):
    """One command of a plugin; ``peek`` builds its parser, then calls ``run``.

    The name and one-line help come from ``plugin_package.json`` so that ``peek
    plugin-commands`` lists commands without importing plugins; ``description`` (default:
    the class docstring) is the longer text of ``--help``.
    """

    #: The longer ``--help`` text; ``None`` uses the class docstring.
    description: str | None = None

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's options and arguments to its ``argparse`` parser (none by default)."""
        return None

    @abstractmethod
    def run(self, args: argparse.Namespace, context: PluginCommandContextABC) -> int | None:
        """Do the work with the parsed ``args``; return the exit status (``None`` means 0)."""
