"""Tests for peek_platform/identity/extension.py and login_rpc.py: logins on logic, and
field asking logic over a real data exchange link."""

from __future__ import annotations

import json

import pytest

from peek_platform.config import ConfigError
from peek_platform.identity.extension import IdentityServiceExtension
from peek_platform.identity.login_rpc import (
    loginRpc,
    loginThroughLogic,
    revalidateThroughLogic,
    stillAllowedRpc,
)
from peek_platform.identity.principal import DirectoryUnavailable, LoginRefused
from peek_platform.services import AGENT, FIELD, LOGIC
from peek_platform.storage.extension import StorageServiceExtension
from peek_platform.vortex.extension import (
    DataExchangeClientExtension,
    DataExchangeServerExtension,
)
from peek_plugin_base.testing.ReactorWait import waitForDeferred

SECRET = "a-test-secret-of-more-than-16-chars"
RECOVERY_PASSWORD = "recovery-password-for-tests"


def logicWithIdentity(started):
    """A logic with data exchange, storage and identity on a free port."""
    vortex = DataExchangeServerExtension()
    storage = StorageServiceExtension()
    identity = IdentityServiceExtension(storage, vortexFactory=lambda: vortex.factory)
    config = {
        "dataExchange": {"port": 0, "secret": SECRET},
        "admin": {"recoveryPassword": RECOVERY_PASSWORD},
    }
    started(LOGIC, [vortex, storage, identity], config)
    return vortex, identity


def linkedClient(started, spec, port, peekSpin):
    """A client service of ``spec`` linked to logic on ``port``."""
    client = DataExchangeClientExtension()
    config = {"dataExchange": {"port": port, "secret": SECRET, "reconnectMaxSeconds": 0.1}}
    started(spec, [client], config)
    peekSpin(lambda: client.factory.isVortexNameConnected(LOGIC.vortexName))
    return client


def test_logic_checks_recovery_and_local_users(started):
    """On logic, check() accepts the recovery admin and a local user, refuses a wrong one."""
    _, identity = logicWithIdentity(started)
    identity.store.addUser("ann", "ann-password-1")
    admin = waitForDeferred(identity.check("admin", RECOVERY_PASSWORD, "admin"))
    assert admin.has("admin")
    ann = waitForDeferred(identity.check("ann", "ann-password-1", "field"))
    assert (ann.userId, ann.permissions) == ("local:ann", frozenset())
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        waitForDeferred(identity.check("ann", "wrong-password", "field"))


def test_field_logs_users_in_through_logic(started, peekSpin):
    """Field's login check asks logic over the service link: accepted, then refused."""
    vortex, identity = logicWithIdentity(started)
    identity.store.setRolePermissions("crew", ["admin"])
    identity.store.addUser("bob", "bob-password-1", roles=["crew"])
    field = linkedClient(started, FIELD, vortex.listeningPort.getHost().port, peekSpin)
    check = loginThroughLogic(loginRpc(), lambda: field.factory)
    bob = waitForDeferred(check("bob", "bob-password-1", "field"))
    assert (bob.userId, bob.roles, bob.permissions) == (
        "local:bob",
        frozenset({"crew"}),
        frozenset({"admin"}),
    )
    with pytest.raises(LoginRefused, match="wrong user name or password"):
        waitForDeferred(check("bob", "not-bobs-password", "field"))


def test_field_asks_logic_which_session_users_may_stay(started, peekSpin):
    """After a user is disabled on logic, field's re-validation call leaves them out."""
    vortex, identity = logicWithIdentity(started)
    identity.store.addUser("bob", "bob-password-1")
    identity.store.addUser("cy", "cy-password-1")
    field = linkedClient(started, FIELD, vortex.listeningPort.getHost().port, peekSpin)
    revalidate = revalidateThroughLogic(stillAllowedRpc(), lambda: field.factory)
    both = waitForDeferred(revalidate(["local:bob", "local:cy"]))
    assert sorted(both) == ["local:bob", "local:cy"]
    assert both["local:bob"].userName == "bob"
    identity.store.setEnabled("cy", False)
    assert sorted(waitForDeferred(revalidate(["local:bob", "local:cy"]))) == ["local:bob"]


def test_only_field_and_office_may_ask_logic(started, peekSpin):
    """An agent calling the login RPC is refused; the site reports logic as unreachable."""
    vortex, _ = logicWithIdentity(started)
    agent = linkedClient(started, AGENT, vortex.listeningPort.getHost().port, peekSpin)
    check = loginThroughLogic(loginRpc(), lambda: agent.factory)
    with pytest.raises(DirectoryUnavailable, match="cannot be reached"):
        waitForDeferred(check("admin", RECOVERY_PASSWORD, "field"))


def test_first_run_generates_the_recovery_password_into_config(peekServiceContext):
    """configure writes a generated recovery password; the returned config holds it."""
    ctx = peekServiceContext(LOGIC, {})
    identity = IdentityServiceExtension(StorageServiceExtension(), vortexFactory=lambda: None)
    ctx.config = identity.configure(ctx)
    saved = json.loads(ctx.config.path.read_text())["admin"]["recoveryPassword"]
    assert len(saved) >= 20
    assert ctx.config["admin.recoveryPassword"] == saved
    assert identity.recovery.matches("admin", saved)


def test_commented_config_without_password_is_a_config_error(peekServiceContext):
    """A commented config.json that cannot take a generated password is a ConfigError."""
    ctx = peekServiceContext(LOGIC, {})
    ctx.config.path.write_text('{\n  // keep this comment\n  "plugin": {"enabled": []}\n}\n')
    from peek_platform.config import loadServiceConfig

    ctx.config = loadServiceConfig(LOGIC, ctx.home)
    identity = IdentityServiceExtension(StorageServiceExtension(), vortexFactory=lambda: None)
    with pytest.raises(ConfigError, match=r"admin\.recoveryPassword"):
        identity.configure(ctx)
