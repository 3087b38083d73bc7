"""Argon2id password hashing: policy, verification and rehash detection."""

from __future__ import annotations

import logging

import pytest
from argon2 import PasswordHasher, Type

from peek_platform.identity.passwords import (
    DEFAULT_HASHER,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordPolicyError,
    checkPasswordPolicy,
    hashPassword,
    needsRehash,
    verifyPassword,
)
from peek_platform.identity.permissions import IdentityError


def test_default_hasher_is_argon2id():
    """New hashes are Argon2id PHC strings from the module's default hasher."""
    assert DEFAULT_HASHER.type is Type.ID
    assert hashPassword("correct horse").startswith("$argon2id$")


def test_hash_verifies_only_its_password(fastHasher):
    """A hash verifies its own password and gives False (no exception) for any other."""
    passwordHash = hashPassword("correct horse", hasher=fastHasher)
    assert verifyPassword(passwordHash, "correct horse", hasher=fastHasher) is True
    assert verifyPassword(passwordHash, "correct horsE", hasher=fastHasher) is False
    assert verifyPassword(passwordHash, "", hasher=fastHasher) is False


def test_hash_is_salted_and_never_the_password(fastHasher):
    """Two hashes of one password differ (random salt) and neither contains the password."""
    first = hashPassword("correct horse", hasher=fastHasher)
    second = hashPassword("correct horse", hasher=fastHasher)
    assert first != second
    assert "correct horse" not in first


def test_short_password_is_refused_naming_the_minimum():
    """A password under the minimum length is a PasswordPolicyError saying both lengths."""
    assert MIN_PASSWORD_LENGTH == 8
    with pytest.raises(PasswordPolicyError, match="too short: it has 7 characters, at least 8"):
        hashPassword("x" * 7)
    checkPasswordPolicy("x" * 8)


def test_overlong_password_is_refused():
    """A password over the maximum length is refused, and never verifies."""
    with pytest.raises(PasswordPolicyError, match=f"at most {MAX_PASSWORD_LENGTH}"):
        checkPasswordPolicy("x" * (MAX_PASSWORD_LENGTH + 1))
    assert verifyPassword(hashPassword("x" * 8), "x" * (MAX_PASSWORD_LENGTH + 1)) is False


def test_policy_error_is_an_identity_value_error():
    """Password policy errors are IdentityErrors, hence ValueErrors."""
    assert issubclass(PasswordPolicyError, IdentityError)
    assert issubclass(IdentityError, ValueError)


def test_rehash_skips_the_policy_on_request(fastHasher):
    """checkPolicy=False hashes a password the current policy would refuse (for rehashing)."""
    passwordHash = hashPassword("short", hasher=fastHasher, checkPolicy=False)
    assert verifyPassword(passwordHash, "short", hasher=fastHasher)


def test_invalid_stored_hash_verifies_nothing(caplog):
    """A damaged or foreign stored hash gives False with a warning, never an exception."""
    with caplog.at_level(logging.WARNING):
        assert verifyPassword("$md5$not-argon", "correct horse") is False
    assert "cannot be verified" in caplog.text
    assert "correct horse" not in caplog.text


def test_needs_rehash_when_parameters_changed(fastHasher):
    """A hash with other parameters than the hasher's needs a rehash; a current one does not."""
    current = hashPassword("correct horse", hasher=fastHasher)
    assert needsRehash(current, hasher=fastHasher) is False
    stronger = PasswordHasher(time_cost=2, memory_cost=512, parallelism=1)
    assert needsRehash(current, hasher=stronger) is True
    assert verifyPassword(current, "correct horse", hasher=stronger) is True


def test_needs_rehash_for_a_foreign_hash():
    """A hash that is not argon2 always needs replacing."""
    assert needsRehash("$md5$not-argon") is True
