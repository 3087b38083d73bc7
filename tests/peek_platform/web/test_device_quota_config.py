"""The per-device-link quota settings of the field and office sites: keys, defaults, checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from twisted.internet.task import Clock

from peek_platform.config import ConfigError, loadServiceConfig
from peek_platform.config.keys import configKeyByPath
from peek_platform.services import FIELD, OFFICE, SiteSpec
from peek_platform.web.device_limits import DeviceLinkLimitSettings
from vortex.transport import DeviceLinkQuota, DeviceQuotaLimits

APP_SITES = [(FIELD, FIELD.site("field")), (OFFICE, OFFICE.site("office"))]


def quotaKeys(site: SiteSpec) -> list[str]:
    """The site's three quota keys: subscriptions, actions a second, bytes a second."""
    return [
        site.subscriptionsPerDeviceLinkKey,
        site.actionsPerDeviceLinkKey,
        site.bytesPerDeviceLinkKey,
    ]


@pytest.mark.parametrize(("spec", "site"), APP_SITES, ids=["field", "office"])
def test_defaults_are_the_vortex_defaults(spec, site):
    """Each app site's quota keys exist for its service, default to ``DeviceQuotaLimits()``
    and are whole numbers of at least 1."""
    keys = [configKeyByPath(path) for path in quotaKeys(site)]
    defaults = DeviceQuotaLimits()
    assert [key.default for key in keys] == [
        defaults.subscriptionsPerLink,
        defaults.actionsPerSecond,
        defaults.bytesPerSecond,
    ]
    assert all(key.type is int and key.minimum == 1 for key in keys)
    assert all(key.services == frozenset({spec.key}) for key in keys)


def test_from_config_reads_the_quota_of_that_site():
    """``fromConfig`` fills ``quota`` from the site's keys, prefixed with the site's name."""
    site = OFFICE.site("office")
    config = {
        site.deviceLinksKey: 10,
        site.newDeviceLinksPerMinuteKey: 20,
        site.subscriptionsPerDeviceLinkKey: 30,
        site.actionsPerDeviceLinkKey: 40,
        site.bytesPerDeviceLinkKey: 50,
    }
    settings = DeviceLinkLimitSettings.fromConfig(site, config)
    assert settings.quota == DeviceQuotaLimits(30, 40, 50, keyPrefix="httpServer.office.")


def test_refusal_reasons_name_the_sites_config_keys():
    """Each limit's refusal reason starts with the exact config key that sets it and its
    value, so the log tells the administrator what to change."""
    site = FIELD.site("field")
    config = {
        site.deviceLinksKey: 10,
        site.newDeviceLinksPerMinuteKey: 20,
        site.subscriptionsPerDeviceLinkKey: 1,
        site.actionsPerDeviceLinkKey: 1,
        site.bytesPerDeviceLinkKey: 500,
    }
    limits = DeviceLinkLimitSettings.fromConfig(site, config).quota
    sub = {"key": "vortex.observable:o", "op": "subscribe"}
    action = {"key": "vortex.action:a"}
    subscriptions = DeviceLinkQuota(limits, Clock())
    assert subscriptions.admit({**sub, "subId": "1"}, 1) is None
    actions = DeviceLinkQuota(limits, Clock())
    assert actions.admit(action, 1) is None
    refusals = [
        subscriptions.admit({**sub, "subId": "2"}, 1),
        actions.admit(action, 1),
        DeviceLinkQuota(limits, Clock()).admit({}, 501),
    ]
    assert [str(reason).split(" exceeded: ")[0] for reason in refusals] == [
        f"{site.subscriptionsPerDeviceLinkKey} (1)",
        f"{site.actionsPerDeviceLinkKey} (1)",
        f"{site.bytesPerDeviceLinkKey} (500)",
    ]


@pytest.mark.parametrize(
    ("leaf", "valueText", "message"),
    [
        ("subscriptionsPerDeviceLink", "0", "must be at least 1, got 0"),
        ("actionsPerDeviceLinkPerSecond", "-5", "must be at least 1, got -5"),
        ("bytesPerDeviceLinkPerSecond", "1.5", "expected an integer, got a number (1.5)"),
        ("actionsPerDeviceLinkPerSecond", '"50"', "expected an integer, got a string ('50')"),
        ("subscriptionsPerDeviceLink", "true", "expected an integer, got a boolean (true)"),
    ],
)
def test_bad_values_are_config_errors_naming_the_key(tmp_path: Path, leaf, valueText, message):
    """A non-positive or non-integer quota value stops loading with an error naming the key."""
    home = tmp_path / "peek-field-service.home"
    home.mkdir()
    text = json.dumps({"httpServer": {"field": {leaf: "VALUE"}}}).replace('"VALUE"', valueText)
    (home / "config.json").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        loadServiceConfig(FIELD, home)
    assert info.value.message == f"httpServer.field.{leaf}: {message}"
