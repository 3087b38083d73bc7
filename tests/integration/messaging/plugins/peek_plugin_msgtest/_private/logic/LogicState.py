"""What the messaging test plugin keeps in the logic process (lost when logic dies)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LogicState:
    """Board values served by the observable, and the tags of ``countCall`` calls."""

    values: dict[str, int] = field(default_factory=dict)
    countedCalls: list[str] = field(default_factory=list)
