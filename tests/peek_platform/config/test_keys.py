"""Tests for peek_platform/config/keys.py."""

from __future__ import annotations

import dataclasses

import pytest

from peek_platform.config import keys
from peek_platform.config.keys import (
    CONFIG_KEYS,
    LOG_LEVELS,
    ConfigKey,
    InvalidValue,
    configKeyByPath,
    keysForService,
)
from peek_platform.services import ALL_SERVICES, FIELD, LOGIC, SiteSpec

ALL = frozenset(spec.key for spec in ALL_SERVICES)


def _key(type_: object, default: object, **kwargs: object) -> ConfigKey:
    """Build a throw-away key of the given type."""
    return ConfigKey("t.key", type_, default, "A test key.", ALL, **kwargs)


def test_issue_keys_are_declared_with_their_defaults() -> None:
    """The table declares the foundation keys, types and defaults for every service."""
    expected = {
        "logging.level": ("string", "INFO"),
        "logging.rotateSizeMb": ("integer", 20),
        "logging.rotationsToKeep": ("integer", 2),
        "logging.logToStdout": ("boolean", True),
        "plugin.enabled": ("list of strings", []),
        "plugin.lifecycleDeadlineSeconds": ("number", 30),
        "dataExchange.host": ("string", "127.0.0.1"),
        "dataExchange.port": ("integer", 8011),
    }
    declared = {k.path: (k.typeName, k.default) for k in CONFIG_KEYS if k.path in expected}
    assert declared == expected
    assert all(k.services == ALL for k in CONFIG_KEYS if k.path in expected)


def test_paths_are_unique_and_descriptions_one_line() -> None:
    """Every key path appears once and its description is a single line."""
    paths = [k.path for k in CONFIG_KEYS]
    assert len(paths) == len(set(paths))
    assert all(k.description and "\n" not in k.description for k in CONFIG_KEYS)


@pytest.mark.parametrize(
    ("type_", "default", "name"),
    [
        (str, "", "string"),
        (int, 0, "integer"),
        (float, 0, "number"),
        (bool, False, "boolean"),
        (list[str], [], "list of strings"),
        (dict, {}, "object"),
    ],
)
def test_type_name(type_: object, default: object, name: str) -> None:
    """``typeName`` gives the human name of each supported type."""
    assert _key(type_, default).typeName == name


def test_keys_for_service_filters_by_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """``keysForService`` returns only the keys whose ``services`` name the service."""
    logicOnly = ConfigKey("only.logic", str, "", "Logic only.", frozenset({"logic"}))
    monkeypatch.setattr(keys, "_COMMON_KEYS", (*keys._COMMON_KEYS, logicOnly))
    assert logicOnly in keysForService(LOGIC)
    assert logicOnly not in keysForService(FIELD)
    assert keysForService(FIELD) == [k for k in CONFIG_KEYS if "field" in k.services]


def test_a_site_added_to_a_description_brings_its_keys() -> None:
    """A service's site keys come from its description: a new site has its own two keys."""
    kiosk = SiteSpec(name="kiosk", title="Kiosk", defaultPort=8004, description="the kiosk")
    spec = dataclasses.replace(FIELD, sites=(*FIELD.sites, kiosk))
    byPath = {key.path: key for key in keysForService(spec)}
    assert byPath["httpServer.kiosk.sitePort"].default == 8004
    assert byPath["httpServer.kiosk.bindAddress"].default == "0.0.0.0"
    assert "httpServer.kiosk.sitePort" not in {key.path for key in keysForService(FIELD)}


def test_config_key_by_path() -> None:
    """Keys are found by dotted path; an unknown path raises ``KeyError`` naming it."""
    assert configKeyByPath("logging.level").default == "INFO"
    with pytest.raises(KeyError, match=r"no\.such"):
        configKeyByPath("no.such")


def test_bad_default_is_rejected_when_declared() -> None:
    """A default that fails its own key's check is a table error at import time."""
    with pytest.raises(ValueError, match=r"t\.key: bad default"):
        _key(int, "20")


def test_unsupported_type_and_unknown_service_are_rejected() -> None:
    """Unsupported value types and unknown service keys are table errors."""
    with pytest.raises(TypeError, match="unsupported type"):
        _key(tuple, ())
    with pytest.raises(ValueError, match="unknown services"):
        ConfigKey("t.key", str, "", "x", frozenset({"server"}))


@pytest.mark.parametrize(
    ("type_", "default", "bad", "expected"),
    [
        (bool, True, 1, "expected a boolean, got an integer (1)"),
        (bool, True, 0, "expected a boolean, got an integer (0)"),
        (int, 1, True, "expected an integer, got a boolean (true)"),
        (int, 1, 1.5, "expected an integer, got a number (1.5)"),
        (str, "", None, "expected a string, got null"),
        (float, 1, False, "expected a number, got a boolean (false)"),
        (float, 1, "1", "expected a number, got a string ('1')"),
        (float, 1, float("inf"), "expected a finite number, got inf"),
        (list[str], [], "a", "expected a list of strings, got a string ('a')"),
        (dict, {}, [], "expected an object, got a list"),
    ],
)
def test_check_rejects_wrong_types(type_: object, default: object, bad: object, expected: str):
    """``check`` rejects values of the wrong JSON type, never coercing bools and numbers."""
    with pytest.raises(InvalidValue) as info:
        _key(type_, default).check(bad)
    assert str(info.value) == expected


def test_check_reports_the_bad_list_item() -> None:
    """A non-string list item is reported with its index."""
    with pytest.raises(InvalidValue) as info:
        _key(list[str], []).check(["a", "b", 3])
    assert info.value.index == 2
    assert str(info.value) == "item 2: expected a string, got an integer (3)"


def test_number_accepts_int_and_float_as_float() -> None:
    """A number key accepts integers and floats and returns a float."""
    key = _key(float, 1)
    assert key.check(3) == 3.0
    assert isinstance(key.check(3), float)
    assert key.check(2.5) == 2.5


def test_choices_match_case_insensitively_and_normalise() -> None:
    """String choices accept any case and return the declared spelling."""
    key = _key(str, "INFO", choices=LOG_LEVELS)
    assert key.check("debug") == "DEBUG"
    with pytest.raises(InvalidValue, match=r"'LOUD' is not one of DEBUG, INFO"):
        key.check("LOUD")


def test_range_bounds() -> None:
    """Inclusive and exclusive minimums and maximums are enforced."""
    positive = _key(float, 1, minimum=0, minimumExclusive=True)
    with pytest.raises(InvalidValue, match="must be greater than 0, got 0"):
        positive.check(0)
    port = _key(int, 1, minimum=0, maximum=65535)
    assert port.check(0) == 0
    with pytest.raises(InvalidValue, match="must be at most 65535, got 65536"):
        port.check(65536)
    atLeastOne = _key(int, 1, minimum=1)
    with pytest.raises(InvalidValue, match="must be at least 1, got 0"):
        atLeastOne.check(0)


def test_constraint_text() -> None:
    """``constraintText`` describes choices and bounds for the docs."""
    assert configKeyByPath("logging.level").constraintText == (
        "one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)"
    )
    assert configKeyByPath("plugin.lifecycleDeadlineSeconds").constraintText == "> 0"
    assert configKeyByPath("dataExchange.port").constraintText == ">= 0, <= 65535"
    assert configKeyByPath("dataExchange.host").constraintText == ""


def test_check_returns_a_copy_of_lists() -> None:
    """Checked lists are copies, so callers cannot alias the stored value."""
    value = ["a"]
    checked = _key(list[str], []).check(value)
    checked.append("b")
    assert value == ["a"]


def test_web_site_keys_are_declared_per_site() -> None:
    """Each web site has a sitePort (0-65535) and a bindAddress key, read by its service only."""
    portOf = {
        "admin": "the logic service's admin web site",
        "field": "the field web app site",
        "office": "the office web app site",
    }
    bind = {
        "admin": "Address the logic service's admin web site listens on; 0.0.0.0 is every "
        "interface, "
        "127.0.0.1 keeps it to this host.",
        "field": "Address the field web app site listens on; 0.0.0.0 is every interface.",
        "office": "Address the office web app site listens on; 0.0.0.0 is every interface.",
    }
    expected = []
    for site, service, port in (
        ("admin", "logic", 8010),
        ("field", "field", 8000),
        ("office", "office", 8002),
    ):
        services = frozenset({service})
        expected += [
            ConfigKey(
                f"httpServer.{site}.sitePort",
                int,
                port,
                f"TCP port of {portOf[site]} (0 lets the OS pick one).",
                services,
                minimum=0,
                maximum=65535,
            ),
            ConfigKey(f"httpServer.{site}.bindAddress", str, "0.0.0.0", bind[site], services),
        ]
    siteKeys = [k for k in CONFIG_KEYS if k.path.startswith("httpServer.")]
    assert [k for k in siteKeys if k.path.endswith(("sitePort", "bindAddress"))] == expected


def test_app_sites_have_login_settings_and_admin_does_not() -> None:
    """Field and office have requireLogin (default on) and session lifetimes; admin has none."""
    byPath = {k.path: k for k in CONFIG_KEYS}
    for site in ("field", "office"):
        assert byPath[f"httpServer.{site}.requireLogin"].default is True
        assert byPath[f"httpServer.{site}.requireLogin"].services == frozenset({site})
        assert byPath[f"httpServer.{site}.sessionIdleMinutes"].default == 480
        assert byPath[f"httpServer.{site}.sessionMaxHours"].default == 24
    assert not [path for path in byPath if path.startswith("httpServer.admin.session")]
    assert "httpServer.admin.requireLogin" not in byPath
    assert byPath["admin.sessionMaxHours"].default == 12


def test_service_groups_name_the_services() -> None:
    """The named service groups hold exactly the services their names say."""
    assert keys.LOGIC_ONLY == {"logic"}
    assert keys.LOGIC_AND_WORKER == {"logic", "worker"}
    assert keys.CLIENT_SERVICE_KEYS == {"field", "office", "agent", "worker"}
