"""Tests for peek_platform/identity/recovery.py: the recovery admin login from logic's config."""

from __future__ import annotations

import json

import pytest

from peek_platform.config import ConfigError, loadServiceConfig
from peek_platform.identity.recovery import (
    RecoveryCredentials,
    credentialsFromConfig,
    ensureRecoveryPassword,
)
from peek_platform.services import LOGIC


@pytest.fixture
def home(tmp_path):
    """A logic home with a config holding an unrelated value."""
    home = tmp_path / "peek-logic-service.home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"dataExchange": {"secret": "s" * 20}}))
    return home


def test_empty_password_is_generated_and_saved(home):
    """An empty password is generated, written to config.json, and the rest is kept."""
    config = loadServiceConfig(LOGIC, home)
    reloaded, generated = ensureRecoveryPassword(config, generate=lambda: "generated-pw-123")
    saved = json.loads((home / "config.json").read_text())
    assert generated is True
    assert saved["admin"]["recoveryPassword"] == "generated-pw-123"
    assert saved["dataExchange"]["secret"] == "s" * 20
    assert reloaded["admin.recoveryPassword"] == "generated-pw-123"
    assert credentialsFromConfig(reloaded) == RecoveryCredentials("admin", "generated-pw-123")


def test_default_generator_makes_long_distinct_passwords(home):
    """Without a generator given, the password is long and random."""
    config, _ = ensureRecoveryPassword(loadServiceConfig(LOGIC, home))
    first = config["admin.recoveryPassword"]
    other = home.parent / "other"
    other.mkdir()
    second = ensureRecoveryPassword(loadServiceConfig(LOGIC, other))[0]["admin.recoveryPassword"]
    assert len(first) >= 24
    assert first != second


def test_set_password_is_kept(home):
    """A configured password is used as is and the file is not rewritten."""
    (home / "config.json").write_text(json.dumps({"admin": {"recoveryPassword": "mine"}}))
    config = loadServiceConfig(LOGIC, home)
    before = (home / "config.json").read_bytes()
    same, generated = ensureRecoveryPassword(config, generate=lambda: "other")
    assert (same, generated) == (config, False)
    assert (home / "config.json").read_bytes() == before


def test_commented_file_is_an_error_naming_the_key(home):
    """A config with comments cannot take a generated password: error, file unchanged."""
    text = '{\n  // my settings\n  "logging": {"level": "INFO"}\n}\n'
    (home / "config.json").write_text(text)
    config = loadServiceConfig(LOGIC, home)
    with pytest.raises(ConfigError, match=r"admin\.recoveryPassword is empty.*comments"):
        ensureRecoveryPassword(config)
    assert (home / "config.json").read_text() == text


def test_empty_user_is_an_error(home):
    """An empty recovery user name is a config error naming the key."""
    (home / "config.json").write_text(
        json.dumps({"admin": {"recoveryUser": " ", "recoveryPassword": "x"}})
    )
    with pytest.raises(ConfigError, match=r"admin\.recoveryUser is empty"):
        credentialsFromConfig(loadServiceConfig(LOGIC, home))


@pytest.mark.parametrize(
    ("user", "password", "expected"),
    [("admin", "pw", True), ("admin", "pw ", False), ("Admin", "pw", False), ("", "", False)],
)
def test_credentials_match_exactly(user, password, expected):
    """Only the exact user and password match."""
    assert RecoveryCredentials("admin", "pw").matches(user, password) is expected


def test_repr_hides_the_password():
    """The password never appears in the repr (logs, tracebacks)."""
    assert "hunter2" not in repr(RecoveryCredentials("admin", "hunter2"))
