"""The admin site's recovery user: its password is generated on first run and kept in config.

The password lives in the logic service's ``config.json`` (``admin.recoveryPassword``), so
an operator who can read that file can always log in, and nobody else can. When the value
is empty the service generates one and writes it to the file; a file with comments cannot
be rewritten without losing them, so then the operator is asked to set it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from peek_platform.config import ConfigError, ServiceConfig, loadServiceConfig, writeConfigFile
from peek_platform.config.config_file import hasComments, parseConfigText, readConfigText

#: Config keys of the recovery login.
RECOVERY_USER_KEY = "admin.recoveryUser"
RECOVERY_PASSWORD_KEY = "admin.recoveryPassword"
#: Length of a generated password (URL-safe characters, about 144 bits).
GENERATED_PASSWORD_CHARS = 24


def generatePassword() -> str:
    """A random password that is easy to copy (letters, digits, ``-`` and ``_``)."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_CHARS * 3 // 4)


@dataclass(frozen=True)
class RecoveryCredentials:
    """The recovery user name and password the admin site accepts."""

    user: str
    password: str = ""

    def __repr__(self) -> str:
        return f"RecoveryCredentials(user={self.user!r}, password=<hidden>)"

    def matches(self, user: str, password: str) -> bool:
        """True for the right user and password; compares in constant time."""
        userOk = _digestEqual(user, self.user)
        passwordOk = _digestEqual(password, self.password)
        return userOk & passwordOk


def _digestEqual(given: str, expected: str) -> bool:
    """Constant-time equality that also hides the length of ``expected``."""
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def writeGeneratedValue(config: ServiceConfig, dottedKey: str, value: str) -> ServiceConfig:
    """Write ``value`` at ``dottedKey`` into the service's ``config.json``; return it reloaded.

    The file is read again (not rebuilt from ``config``) so values another extension wrote
    meanwhile are kept. Raises ``ConfigError`` (file unchanged) when the file has comments,
    which a rewrite would drop, or cannot be read, parsed or written.
    """
    path = config.path
    document: dict = {}
    if path.exists():
        text = readConfigText(path)
        if hasComments(text):
            raise ConfigError(
                path,
                f"{dottedKey} is empty, and Peek cannot write a generated value into this file "
                f"because it has comments that a rewrite would remove. Set {dottedKey} in the "
                "file yourself (a long random string) and start the service again.",
            )
        document = parseConfigText(path, text)()
    section = document
    *parents, leaf = dottedKey.split(".")
    for part in parents:
        section = section.setdefault(part, {})
    section[leaf] = value
    try:
        writeConfigFile(path, document)
    except OSError as e:
        raise ConfigError(path, f"cannot write the generated {dottedKey}: {e.strerror or e}") from e
    return loadServiceConfig(config.spec, config.home)


def credentialsFromConfig(config: ServiceConfig) -> RecoveryCredentials:
    """The recovery login in ``config``; ``ConfigError`` when the user or password is empty."""
    user = str(config[RECOVERY_USER_KEY])
    password = str(config[RECOVERY_PASSWORD_KEY])
    for key, value in ((RECOVERY_USER_KEY, user), (RECOVERY_PASSWORD_KEY, password)):
        if not value.strip():
            raise ConfigError(config.path, f"{key} is empty; set it in config.json")
    return RecoveryCredentials(user, password)


def ensureRecoveryPassword(
    config: ServiceConfig, generate: Callable[[], str] = generatePassword
) -> tuple[ServiceConfig, bool]:
    """``config`` with a recovery password, generating and saving one when it is empty.

    Returns the config to use from now on (reloaded when a password was written) and
    whether a password was generated.
    """
    if str(config[RECOVERY_PASSWORD_KEY]):
        return config, False
    return writeGeneratedValue(config, RECOVERY_PASSWORD_KEY, generate()), True
