"""Redaction of an effective config document and of free text for the diagnostics zip."""

from __future__ import annotations

import json

import pytest

from peek_platform.config.keys import CONFIG_KEYS
from peek_platform.diagnostics.redaction import (
    REDACTED,
    SECRET_KEY_PATHS,
    ConfigRedactor,
    isSecretName,
    redactSecretUrl,
    redactUrls,
)

#: A config document holding one known value of every kind of secret.
SECRETS = {
    "exchange": "exchange-secret-4711",
    "recovery": "recovery-password-4711",
    "ldap": "ldap-bind-password-4711",
    "db": "db-password-4711",
    "redis": "redis-password-4711",
    "token": "custom-token-4711",
    "nested": "nested-signing-key-4711",
    "upstream": "upstream-url-password-4711",
}
DOCUMENT = {
    "dataExchange": {"secret": SECRETS["exchange"], "port": 8011, "useTls": False},
    "admin": {"recoveryUser": "admin", "recoveryPassword": SECRETS["recovery"]},
    "sqlalchemy": {"connectUrl": f"postgresql://peek:{SECRETS['db']}@db.example:5432/peek"},
    "celery": {"brokerUrl": f"redis://:{SECRETS['redis']}@127.0.0.1:6379/0", "resultUrl": ""},
    "ldap": {
        "directories": [
            {
                "name": "corp",
                "url": "ldaps://ldap.example",
                "bindDn": "cn=peek,dc=example",
                "bindPassword": SECRETS["ldap"],
            }
        ]
    },
    "plugin": {"enabled": ["peek_plugin_noop"]},
    "custom": {
        "apiToken": SECRETS["token"],
        "deeper": {"signing_key": SECRETS["nested"]},
        "upstream": f"https://bob:{SECRETS['upstream']}@up.example/x",
    },
}


def redacted() -> tuple[dict, ConfigRedactor]:
    redactor = ConfigRedactor()
    return redactor.redact(DOCUMENT), redactor


def test_no_known_secret_survives_anywhere_in_the_document():
    """Every secret kind is gone from the redacted document, in any form."""
    text = json.dumps(redacted()[0])
    for secret in SECRETS.values():
        assert secret not in text


def test_secret_keys_read_as_redacted_and_other_values_stay():
    """Flagged keys become ``***``; non-secret values are untouched; the input is not
    changed."""
    document, _ = redacted()
    assert document["dataExchange"] == {"secret": REDACTED, "port": 8011, "useTls": False}
    assert document["admin"] == {"recoveryUser": "admin", "recoveryPassword": REDACTED}
    assert document["plugin"] == {"enabled": ["peek_plugin_noop"]}
    assert DOCUMENT["admin"]["recoveryPassword"] == SECRETS["recovery"]


def test_secret_urls_keep_their_host_but_not_their_password():
    """A secret URL key keeps scheme, user, host, port and path; an empty one stays empty
    so "not set" still shows."""
    document, _ = redacted()
    assert document["sqlalchemy"]["connectUrl"] == "postgresql://peek:***@db.example:5432/peek"
    assert document["celery"] == {"brokerUrl": "redis://:***@127.0.0.1:6379/0", "resultUrl": ""}


def test_secret_fields_of_list_items_and_nested_secret_names():
    """``ldap.directories[].bindPassword`` is redacted and its siblings kept; keys named like
    secrets are redacted at any depth; a URL with credentials anywhere loses its password."""
    document, _ = redacted()
    directory = document["ldap"]["directories"][0]
    assert directory == {
        "name": "corp",
        "url": "ldaps://ldap.example",
        "bindDn": "cn=peek,dc=example",
        "bindPassword": REDACTED,
    }
    assert document["custom"] == {
        "apiToken": REDACTED,
        "deeper": {"signing_key": REDACTED},
        "upstream": "https://bob:***@up.example/x",
    }


def test_every_secret_in_the_key_table_is_known():
    """The data exchange secret, recovery password, database and Celery URLs and the TLS
    private keys are marked secret in the config key table."""
    assert {
        "dataExchange.secret",
        "admin.recoveryPassword",
        "sqlalchemy.connectUrl",
        "celery.brokerUrl",
        "celery.resultUrl",
        "dataExchange.tlsServerKeyPath",
        "dataExchange.tlsClientKeyPath",
    } <= SECRET_KEY_PATHS
    assert SECRET_KEY_PATHS == {key.path for key in CONFIG_KEYS if key.secret}


def test_scrub_replaces_the_removed_values_in_free_text():
    """After redacting, the secrets found are replaced wherever they appear in log lines,
    URL-encoded passwords in their decoded form too."""
    redactor = ConfigRedactor()
    redactor.redact({"db": {"url": "postgresql://u:p%40ssword-4711@h/db"}, **DOCUMENT})
    line = (
        f"bound with {SECRETS['ldap']} and {SECRETS['exchange']}; decoded p@ssword-4711; "
        f"url mysql://root:other-pw@h/x?password=qq"
    )
    scrubbed = redactor.scrub(line)
    for secret in (SECRETS["ldap"], SECRETS["exchange"], "p@ssword-4711", "other-pw", "qq"):
        assert secret not in scrubbed
    assert scrubbed.count(REDACTED) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://user:PASSWORD@host/db", "postgresql://user:***@host/db"),
        ("redis://:pw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("amqp://guest:guest@rabbit//", "amqp://guest:***@rabbit//"),
        ("no credentials http://host:8010/x", "no credentials http://host:8010/x"),
        ("DRIVER=x;PWD=abc;UID=u", "DRIVER=x;PWD=***;UID=u"),
        ("https://h/x?a=1&token=abc#f", "https://h/x?a=1&token=***#f"),
    ],
)
def test_redact_urls(text, expected):
    """Passwords in URLs and secret query or connection-string fields become ``***``."""
    assert redactUrls(text) == expected


def test_redact_secret_url_drops_query_and_non_urls():
    """A secret URL's query may hold credentials: it goes; a non-URL secret is ``***``."""
    assert redactSecretUrl("mssql://u:p@h:1433/db?odbc=PWD%3Dx") == "mssql://u:***@h:1433/db?***"
    assert redactSecretUrl("sqlite:////home/peek/peek.sqlite") == "sqlite:////home/peek/peek.sqlite"
    assert redactSecretUrl("just-a-secret") == REDACTED


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("bindPassword", True),
        ("secret", True),
        ("apiToken", True),
        ("session_key", True),
        ("privateKey", True),
        ("key", True),
        ("recoveryUser", False),
        ("sessionIdleMinutes", False),
        ("port", False),
    ],
)
def test_secret_names(name, secret):
    """Key names that look secret are recognised; ordinary ones are not."""
    assert isSecretName(name) is secret
