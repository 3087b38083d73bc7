"""Secrets out of diagnostics: redact a config document, URLs with credentials, and text.

Three passes, each a defence if another misses (docs/admin/diagnostics.rst): keys marked
``secret`` in the config key table (and secret fields of list-of-object keys such as
``ldap.directories[].bindPassword``); any key whose *name* looks secret; and the password
part of any URL with credentials. The values removed are collected so that log lines and
other text can have every occurrence of them replaced as a last defence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from peek_platform.config.keys import CONFIG_KEYS
from peek_platform.identity.ldap_directory import LDAP_DIRECTORIES_KEY, SECRET_FIELDS

#: What a redacted value, or the password of a URL, reads as.
REDACTED = "***"
#: Secrets shorter than this are not searched for in free text (they would match anywhere);
#: where they sit in the config, they are still redacted.
MIN_SCRUB_LENGTH = 4

#: Words that make a key name secret wherever it appears (compared lower-case, without
#: ``_``/``-``): passwords, secrets, tokens, credentials and keys of any kind.
SECRET_NAME_WORDS: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "apikey",
    "privatekey",
    "sessionkey",
    "cookiekey",
    "signingkey",
    "accesskey",
)
#: Key names that are secret whole (compared lower-case, without ``_``/``-``).
SECRET_NAMES: frozenset[str] = frozenset({"pwd", "pass", "key", "auth", "authorization"})

#: The dotted paths the config key table marks secret.
SECRET_KEY_PATHS: frozenset[str] = frozenset(key.path for key in CONFIG_KEYS if key.secret)
#: Secret fields inside the objects of list-of-object keys, by the key's dotted path.
SECRET_ITEM_FIELDS: dict[str, frozenset[str]] = {LDAP_DIRECTORIES_KEY: frozenset(SECRET_FIELDS)}

#: ``scheme://user:password@`` (user may be empty, as in ``redis://:password@host``).
_URL_CREDENTIALS = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)(?P<password>[^\s@/'\"]*)@"
)
#: ``password=...`` style query parameters and ``PWD=...;`` connection-string fields.
_SECRET_PARAMETER = re.compile(
    r"(?P<head>(?:^|[?&;\s])(?:password|passwd|pwd|secret|token|api_?key|access_?key|auth)=)"
    r"(?P<value>[^&;\s'\"#]*)",
    re.IGNORECASE,
)


def isSecretName(name: str) -> bool:
    """True when a key called ``name`` likely holds a secret (``bindPassword``, ``apiKey``)."""
    folded = name.lower().replace("_", "").replace("-", "")
    return folded in SECRET_NAMES or any(word in folded for word in SECRET_NAME_WORDS)


def redactUrls(text: str) -> str:
    """``text`` with the password of every URL with credentials, and every secret-looking
    query parameter, replaced by ``***`` (``postgresql://peek:***@db/peek``)."""
    text = _URL_CREDENTIALS.sub(lambda m: m["head"] + REDACTED + "@", text)
    return _SECRET_PARAMETER.sub(lambda m: m["head"] + REDACTED, text)


def urlPasswords(text: str) -> list[str]:
    """The passwords (as written and URL-decoded) of the URLs with credentials in ``text``."""
    found: list[str] = []
    for match in (*_URL_CREDENTIALS.finditer(text), *_SECRET_PARAMETER.finditer(text)):
        value = match.groupdict().get("password") or match.groupdict().get("value") or ""
        found.extend(v for v in (value, unquote(value)) if v)
    return found


def redactSecretUrl(value: str) -> str:
    """A secret key's URL value kept only as far as it is safe: scheme, user, host, port and
    path, with the password and any query replaced by ``***``; a non-URL is ``***``."""
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port
    except ValueError:
        return REDACTED
    if not parts.scheme or "://" not in value:
        return REDACTED
    credentials = ""
    if parts.username is not None or parts.password is not None:
        credentials = f"{parts.username or ''}:{REDACTED}@" if parts.password else ""
        if parts.password is None:
            credentials = f"{parts.username}@"
    location = (host or "") + (f":{port}" if port is not None else "")
    if host and ":" in host:
        location = f"[{host}]" + (f":{port}" if port is not None else "")
    query = f"?{REDACTED}" if parts.query else ""
    return f"{parts.scheme}://{credentials}{location}{parts.path}{query}"


class ConfigRedactor:
    """Redacts one effective config document and remembers the secret values it removed."""

    def __init__(self) -> None:
        #: Every secret value taken out (and the passwords of URLs), for :meth:`scrub`.
        self.secrets: set[str] = set()

    def redact(self, document: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``document`` (nested dicts, as ``ServiceConfig.asDict``) with secrets
        replaced by ``***``; an empty secret stays empty, so "not set" still shows."""
        return self._redactMapping(document, "")

    def scrub(self, text: str) -> str:
        """``text`` with URL passwords and every occurrence of a known secret replaced."""
        text = redactUrls(text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= MIN_SCRUB_LENGTH:
                text = text.replace(secret, REDACTED)
        return text

    def scrubLines(self, lines: Iterable[str]) -> list[str]:
        """:meth:`scrub` of each line."""
        return [self.scrub(line) for line in lines]

    def _redactMapping(self, mapping: dict[str, Any], prefix: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, value in mapping.items():
            path = f"{prefix}{name}"
            if path in SECRET_KEY_PATHS or isSecretName(str(name)):
                result[name] = self._secretValue(value)
            else:
                result[name] = self._redactValue(value, path)
        return result

    def _redactValue(self, value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return self._redactMapping(value, path + ".")
        if isinstance(value, list):
            fields = SECRET_ITEM_FIELDS.get(path, frozenset())
            return [self._redactItem(item, path, fields) for item in value]
        if isinstance(value, str):
            self.secrets.update(urlPasswords(value))
            return redactUrls(value)
        return value

    def _redactItem(self, item: Any, path: str, fields: frozenset[str]) -> Any:
        if not isinstance(item, dict):
            return self._redactValue(item, path)
        redacted = self._redactMapping(
            {k: v for k, v in item.items() if k not in fields}, path + "[]."
        )
        for name in fields & item.keys():
            redacted[name] = self._secretValue(item[name])
        return {name: redacted[name] for name in item}

    def _secretValue(self, value: Any) -> Any:
        """A secret key's value: ``***`` when set (a URL keeps its non-secret parts)."""
        if value is None or value == "" or isinstance(value, bool):
            return value
        if isinstance(value, dict):
            return {name: self._secretValue(v) for name, v in value.items()}
        if isinstance(value, list):
            return [self._secretValue(v) for v in value]
        text = str(value)
        self.secrets.add(text)
        self.secrets.update(urlPasswords(text))
        if isinstance(value, str) and "://" in value:
            self.secrets.update(_parsedPasswords(value))
            return redactSecretUrl(value)
        return REDACTED


def _parsedPasswords(url: str) -> set[str]:
    """The password of ``url`` as parsed (and URL-decoded); none when it does not parse."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return set()
    return {password, unquote(password)} if password else set()
