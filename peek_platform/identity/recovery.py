"""The recovery admin user: its password is generated on first run and kept in config.

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

from peek_platform.config import ConfigError, ServiceConfig
from peek_platform.config.generated_value import writeGeneratedValue

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
