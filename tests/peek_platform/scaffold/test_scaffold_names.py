"""Parsing a new plugin's name and renaming every spelling of one name to another."""

from __future__ import annotations

import pytest

from peek_platform.scaffold.names import PluginNameError, PluginNaming, renamer

NOOP = PluginNaming(packageName="peek_plugin_noop", shortName="noop")


@pytest.mark.parametrize(
    ("argument", "packageName", "shortName"),
    [
        ("tutorial", "peek_plugin_tutorial", "tutorial"),
        ("peek_plugin_tutorial", "peek_plugin_tutorial", "tutorial"),
        ("peek-plugin-tutorial", "peek_plugin_tutorial", "tutorial"),
        ("peek_core_x", "peek_core_x", "x"),
        ("my_thing2", "peek_plugin_my_thing2", "my_thing2"),
    ],
)
def test_fromArgumentAcceptsShortAndFullNames(
    argument: str, packageName: str, shortName: str
) -> None:
    """A short name gets the peek_plugin_ prefix; full and dashed names keep theirs."""
    naming = PluginNaming.fromArgument(argument)
    assert (naming.packageName, naming.shortName) == (packageName, shortName)


@pytest.mark.parametrize(
    "argument",
    ["", "Tutorial", "1tutorial", "my thing", "my__thing", "thing_", "peek_plugin_", "peek_x", "é"],
)
def test_fromArgumentRefusesInvalidNames(argument: str) -> None:
    """Names that are not lowercase identifiers after the prefix raise, quoting the name."""
    with pytest.raises(PluginNameError, match=repr(argument).replace("\\", "\\\\")):
        PluginNaming.fromArgument(argument)


def test_spellingsOfAMultiWordName() -> None:
    """``my_thing`` is MyThing, myThing, MY_THING and peek-plugin-my-thing."""
    naming = PluginNaming.fromArgument("my_thing")
    assert naming.camelName == "MyThing"
    assert naming.lowerCamelName == "myThing"
    assert naming.upperName == "MY_THING"
    assert naming.projectName == "peek-plugin-my-thing"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("import peek_plugin_noop._private", "import peek_plugin_my_thing._private"),
        ("pip install peek-plugin-noop", "pip install peek-plugin-my-thing"),
        ("noopFilt = {}", "myThingFilt = {}"),
        ("class NoopTuple:", "class MyThingTuple:"),
        ("NOOP_LIMIT = 1", "MY_THING_LIMIT = 1"),
        ("the noop plugin", "the my_thing plugin"),
        ("_private/noop/x.py", "_private/my_thing/x.py"),
        ("nothing else", "nothing else"),
    ],
)
def test_renamerReplacesEverySpelling(text: str, expected: str) -> None:
    """Each case style of the noop name becomes the same style of the new name."""
    assert renamer(NOOP, PluginNaming.fromArgument("my_thing"))(text) == expected


def test_renamerKeepsCorePrefix() -> None:
    """A peek_core_ target replaces the whole package and project names."""
    rename = renamer(NOOP, PluginNaming.fromArgument("peek_core_x"))
    assert rename("peek_plugin_noop peek-plugin-noop noopFilt") == "peek_core_x peek-core-x xFilt"
