"""What the platform knows about each enabled plugin: its state and why."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class PluginState(enum.Enum):
    """Lifecycle state of one plugin on one service."""

    #: Enabled, not yet loaded.
    PENDING = "pending"
    #: Does not run on this service (its ``requiresServices`` does not name it).
    SKIPPED = "skipped"
    #: ``load()`` finished.
    LOADED = "loaded"
    #: ``start()`` finished.
    STARTED = "started"
    #: ``stop()`` finished.
    STOPPED = "stopped"
    #: ``unload()`` finished.
    UNLOADED = "unloaded"
    #: Refused or broken; ``reason`` (and usually ``traceback``) say why.
    FAILED = "failed"
    #: ``load()`` or ``start()`` raised ``PluginNotReadyError``; that step runs again at
    #: ``nextRetryAt``. ``reason`` reads "retrying in N s (attempt K): why", ``attempt`` is K.
    RETRYING = "retrying"
    #: Stopped and unloaded at runtime by an operator (or because a plugin it requires
    #: was); its code is forgotten, and enabling it imports it afresh.
    DISABLED = "disabled"


@dataclass
class PluginStatus:
    """State of one plugin, with the failure reason and timings the operator sees."""

    name: str
    version: str | None = None
    state: PluginState = PluginState.PENDING
    reason: str | None = None
    traceback: str | None = None
    loadSeconds: float | None = None
    startSeconds: float | None = None
    #: While ``RETRYING``: which retry comes next (1 for the first), else None.
    attempt: int | None = None
    #: While ``RETRYING``: when the next attempt runs, in reactor seconds (the epoch on a
    #: real reactor), else None.
    nextRetryAt: float | None = None


@dataclass(frozen=True)
class ControlOutcome:
    """What a runtime enable, disable or restart of one plugin did on one service."""

    pluginName: str
    #: ``"enable"``, ``"disable"`` or ``"restart"``.
    action: str
    #: False when the plugin already was in the state asked for (nothing was done).
    changed: bool
    #: The plugin's state and reason afterwards.
    state: PluginState
    reason: str | None
    #: The plugins that require it and were stopped (and, on enable or restart, brought
    #: back) with it, in the order they were stopped.
    dependants: tuple[str, ...] = ()
    #: How long the whole action took.
    seconds: float = 0.0
