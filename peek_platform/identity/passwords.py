"""Password hashing for local users: Argon2id through argon2-cffi.

Hashes are argon2's PHC strings (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``), so each
carries its own parameters; a hash made with older parameters still verifies, and
``needsRehash`` says when to store a new one made with the current parameters.

Hashing is slow on purpose (tens of milliseconds): call these functions off the reactor
thread.
"""

from __future__ import annotations

import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from peek_platform.identity.permissions import IdentityError

logger = logging.getLogger(__name__)

#: The shortest password accepted for a local user.
MIN_PASSWORD_LENGTH = 8
#: The longest password accepted (a bound on the work one login attempt can cause).
MAX_PASSWORD_LENGTH = 1024

#: The hasher of new passwords: argon2-cffi's defaults, Argon2id with RFC 9106's
#: low-memory profile. Changing its parameters makes ``needsRehash`` true for older hashes.
DEFAULT_HASHER = PasswordHasher()


class PasswordPolicyError(IdentityError):
    """The password cannot be used (too short or too long); the message says why."""


def checkPasswordPolicy(password: str) -> None:
    """Raise ``PasswordPolicyError`` when ``password`` is not acceptable for a new password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"password too short: it has {len(password)} characters, at least "
            f"{MIN_PASSWORD_LENGTH} are required"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"password too long: it has {len(password)} characters, at most "
            f"{MAX_PASSWORD_LENGTH} are allowed"
        )


def hashPassword(
    password: str, *, hasher: PasswordHasher = DEFAULT_HASHER, checkPolicy: bool = True
) -> str:
    """The Argon2id hash of ``password``, after checking it against the password policy.

    ``checkPolicy=False`` is for rehashing a password that just verified: it was accepted
    when it was set, and a later, stricter policy must not lock its user out.
    """
    if checkPolicy:
        checkPasswordPolicy(password)
    return hasher.hash(password)


def verifyPassword(
    passwordHash: str, password: str, *, hasher: PasswordHasher = DEFAULT_HASHER
) -> bool:
    """True when ``password`` matches ``passwordHash``; never raises for a wrong password.

    A stored hash that is not an argon2 hash (damaged, or from another system) verifies
    nothing: it is logged as a warning and gives ``False``.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return hasher.verify(passwordHash, password)
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError) as e:
        logger.warning(
            "A stored password hash cannot be verified (%s: %s); refusing the password",
            type(e).__name__,
            e,
        )
        return False


def needsRehash(passwordHash: str, *, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """True when ``passwordHash`` was made with other parameters than ``hasher``'s.

    Ask after a successful ``verifyPassword``: the password is then known, so store
    ``hashPassword(password)`` in place of the old hash.
    """
    try:
        return hasher.check_needs_rehash(passwordHash)
    except (InvalidHashError, ValueError):
        return True
