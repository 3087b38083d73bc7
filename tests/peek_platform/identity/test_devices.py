"""The device store on SQLite and PostgreSQL: enrolment, states, last seen, migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from peek_platform.identity.devices import (
    MAX_DESCRIPTION_LENGTH,
    DeviceRevoked,
    DeviceState,
    DeviceStore,
    UnknownDeviceError,
    hashDeviceToken,
)
from peek_platform.identity.principal import LoginRefused
from peek_platform.storage.platform_schema import deviceTable


@pytest.fixture
def devices(platformDb) -> DeviceStore:
    """A device store on the migrated platform schema."""
    return DeviceStore(platformDb.dbEngine)


def admit(devices: DeviceStore, token: str | None, **kwargs):
    """Admit a login of ann on field from Firefox, auto policy, unless told otherwise."""
    values = {
        "site": "field",
        "userId": "local:ann",
        "userName": "ann",
        "description": "Firefox",
        "policy": "auto",
    }
    values.update(kwargs)
    return devices.admit(token, **values)


def test_first_login_enrols_an_approved_device_and_stores_only_the_token_hash(devices, platformDb):
    """Under ``auto`` a browser without a token gets a new approved device and a token;
    the database holds the token's SHA-256, never the token."""
    admission = admit(devices, None)
    device = devices.get(admission.deviceId)
    assert admission.state == DeviceState.APPROVED
    assert admission.newToken and len(admission.newToken) >= 43
    assert (device.site, device.state, device.lastUserName) == ("field", "approved", "ann")
    assert device.enrolledAt.tzinfo is not None
    with platformDb.dbEngine.connect() as conn:
        stored = conn.execute(sa.select(deviceTable.c.token_hash)).scalar_one()
    assert stored == hashDeviceToken(admission.newToken)
    assert admission.newToken not in stored


def test_known_token_is_the_same_device_and_records_the_new_login(devices):
    """A second login with the token keeps the device id, issues no new token and records
    the latest user and user agent; an unknown token enrols another device."""
    first = admit(devices, None)
    again = admit(
        devices, first.newToken, userId="local:bob", userName="bob", description="Chromium"
    )
    assert again.newToken is None
    assert again.deviceId == first.deviceId
    stored = devices.get(first.deviceId)
    assert (stored.lastUserName, stored.lastUserId, stored.description) == (
        "bob",
        "local:bob",
        "Chromium",
    )
    other = admit(devices, "not-a-token-we-issued")
    assert other.newToken and other.deviceId != first.deviceId


def test_a_token_of_another_site_enrols_a_new_device(devices):
    """Tokens are per site: office does not recognise a field device's token."""
    field = admit(devices, None)
    office = admit(devices, field.newToken, site="office")
    assert office.newToken is not None
    assert office.deviceId != field.deviceId
    assert devices.get(office.deviceId).site == "office"


def test_approval_policy_enrols_pending_devices_until_approved(devices):
    """Under ``approval`` a new device is pending, and stays so at its next login until an
    administrator approves it; approval is kept when the policy changes."""
    admission = admit(devices, None, policy="approval")
    deviceId = admission.deviceId
    assert admission.state == DeviceState.PENDING
    assert admit(devices, admission.newToken, policy="approval").state == "pending"
    approved = devices.setState(deviceId, DeviceState.APPROVED)
    assert approved.state == DeviceState.APPROVED
    assert admit(devices, admission.newToken, policy="approval").state == "approved"
    assert admit(devices, admission.newToken, policy="auto").state == "approved"


def test_revoked_device_cannot_log_in(devices):
    """A revoked device's login raises DeviceRevoked, a LoginRefused with a clear message."""
    admission = admit(devices, None)
    devices.setState(admission.deviceId, DeviceState.REVOKED)
    with pytest.raises(DeviceRevoked, match="revoked by an administrator") as refused:
        admit(devices, admission.newToken)
    assert isinstance(refused.value, LoginRefused)


def test_states_list_and_unknown_devices(devices):
    """states() answers known ids only; get and setState name an unknown id."""
    a = admit(devices, None)
    b = admit(devices, None, policy="approval")
    assert devices.states([a.deviceId, b.deviceId, "nope"]) == {
        a.deviceId: DeviceState.APPROVED,
        b.deviceId: DeviceState.PENDING,
    }
    assert {d.deviceId for d in devices.listDevices()} == {a.deviceId, b.deviceId}
    with pytest.raises(UnknownDeviceError, match="'nope'"):
        devices.get("nope")
    with pytest.raises(UnknownDeviceError, match="'nope'"):
        devices.setState("nope", DeviceState.REVOKED)


def test_touch_moves_last_seen_forward_only(devices):
    """touch() records a later last-seen time and ignores an earlier one."""
    device = devices.get(admit(devices, None).deviceId)
    later = device.lastSeen + timedelta(minutes=5)
    devices.touch({device.deviceId: later})
    assert devices.get(device.deviceId).lastSeen == later
    devices.touch({device.deviceId: later - timedelta(hours=1)})
    assert devices.get(device.deviceId).lastSeen == later


def test_description_is_cleaned_and_truncated_and_policy_checked(devices):
    """Control characters are dropped, long user agents cut; an unknown policy is refused."""
    device = devices.get(admit(devices, None, description="Agent\x00\n" + "x" * 500).deviceId)
    assert device.description.startswith("Agent")
    assert "\x00" not in device.description and "\n" not in device.description
    assert len(device.description) == MAX_DESCRIPTION_LENGTH
    with pytest.raises(ValueError, match="'sometimes' is not one of auto, approval"):
        admit(devices, None, policy="sometimes")


def test_device_migration_downgrades_and_upgrades(platformDb, devices):
    """The devices revision drops its table on downgrade and recreates it on upgrade."""

    def present() -> bool:
        names = sa.inspect(platformDb.dbEngine).get_table_names(schema="peek_platform")
        return "device" in names

    assert present()
    platformDb.downgrade("f65810fc3043")
    assert not present()
    assert platformDb.currentRevisions() == ("f65810fc3043",)
    platformDb.migrate()
    assert present()
    assert devices.get(admit(devices, None).deviceId).enrolledAt <= datetime.now(UTC)
