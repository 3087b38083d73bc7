"""The spellings of a plugin's name, and renaming one plugin's spellings to another's."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from peek_platform.plugin.discovery import PLUGIN_PREFIXES

_SHORT_NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


class PluginNameError(ValueError):
    """The name given for a new plugin is not a valid plugin name; the message says why."""


@dataclass(frozen=True)
class PluginNaming:
    """Every spelling of one plugin's name, e.g. for ``peek_plugin_my_thing``."""

    #: Python package: ``peek_plugin_my_thing``.
    packageName: str
    #: The part after the prefix, snake case: ``my_thing``.
    shortName: str

    @classmethod
    def fromArgument(cls, name: str) -> PluginNaming:
        """Parse ``tutorial``, ``peek_plugin_tutorial`` or ``peek_core_x`` (dashes allowed)."""
        normalised = name.strip().replace("-", "_")
        prefix = next((p for p in PLUGIN_PREFIXES if normalised.startswith(p)), "")
        if not prefix and normalised.startswith("peek_"):
            raise PluginNameError(
                f"plugin name {name!r} starts with 'peek_' but not with 'peek_plugin_' or "
                f"'peek_core_'; give the short name (e.g. 'tutorial') or the full package name"
            )
        shortName = normalised[len(prefix) :]
        if not _SHORT_NAME_RE.fullmatch(shortName):
            raise PluginNameError(
                f"plugin name {name!r} is not valid: the name after the prefix must be lowercase "
                f"letters, digits and single underscores, starting with a letter "
                f"(e.g. 'tutorial' or 'my_thing')"
            )
        return cls(packageName=(prefix or PLUGIN_PREFIXES[0]) + shortName, shortName=shortName)

    @property
    def projectName(self) -> str:
        """Project directory and distribution name: ``peek-plugin-my-thing``."""
        return self.packageName.replace("_", "-")

    @property
    def camelName(self) -> str:
        """Class-name style: ``MyThing``."""
        return "".join(word.capitalize() for word in self.shortName.split("_"))

    @property
    def lowerCamelName(self) -> str:
        """Prefix of variable names such as ``myThingFilt``: ``myThing``."""
        camel = self.camelName
        return camel[0].lower() + camel[1:]

    @property
    def upperName(self) -> str:
        """Constant style: ``MY_THING``."""
        return self.shortName.upper()


def renamer(source: PluginNaming, target: PluginNaming) -> Callable[[str], str]:
    """Return a function that replaces every spelling of ``source`` with ``target``'s.

    Full names go first; a short name followed by a capital letter (``noopFilt``) is a
    lower-camel prefix, any other lowercase one is the snake-case name.
    """
    replacements = {
        source.packageName: target.packageName,
        source.projectName: target.projectName,
        source.camelName: target.camelName,
        source.upperName: target.upperName,
    }
    lowerCamel = re.escape(source.lowerCamelName)
    pattern = re.compile(
        "|".join(re.escape(key) for key in sorted(replacements, key=len, reverse=True))
        + f"|(?P<camel>{lowerCamel})(?=[A-Z])|{re.escape(source.shortName)}"
    )

    def replace(match: re.Match[str]) -> str:
        if match.group("camel"):
            return target.lowerCamelName
        return replacements.get(match.group(0), target.shortName)

    def rename(text: str) -> str:
        return pattern.sub(replace, text)

    return rename
