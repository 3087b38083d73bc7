"""Device approval, revocation and forced logout in real Chromium, against the running
services: the field site enrols under ``deviceEnrolment: approval`` for these tests.

The field service is restarted with that setting for this module and restarted with the
default (``auto``) after it, so the other browser tests see the field site they expect.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from peek_platform.config import setDotted
from peek_platform.testing.ServiceProcess import consoleScript

pytestmark = pytest.mark.integration

PAGE_PATH = "/peek_plugin_noop/"
#: A phone's screen (CSS pixels): the field app is used on phones.
PHONE = {"width": 390, "height": 844}
#: A local user for the field logins (so a forced logout leaves the admin logged in).
USER, PASSWORD = "btest-dora", "dora-password-42"
#: Milliseconds within which a revoked device's or logged-out user's link must close.
CLOSE_WITHIN_MS = 5000


def _restartField(platform, policy: str) -> None:
    """Restart the field service with ``httpServer.field.deviceEnrolment: policy``."""
    platform.stop("field")
    path = platform.homes["field"] / "config.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    setDotted(document, "httpServer.field.deviceEnrolment", policy)
    path.write_text(json.dumps(document), encoding="utf-8")
    platform.start("field")
    platform.waitHealthy("field")


@pytest.fixture(scope="module")
def approvalField(platform) -> Iterator[None]:
    """The field site enrolling new devices under ``approval``, and the local user."""
    added = subprocess.run(
        [consoleScript("peek"), "user", "add", USER, "--home", str(platform.homes["logic"])],
        input=PASSWORD + "\n",
        env=platform.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    _restartField(platform, "approval")
    try:
        yield
    finally:
        _restartField(platform, "auto")


def _logInOnField(page, platform) -> None:
    """Open the noop field page and log in there as the local user."""
    page.goto(platform.siteUrl("field") + PAGE_PATH)
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _waitingDevice(page) -> str:
    """Check the field page waits for approval; the device id it shows."""
    expect(page).to_have_url(re.compile(r"/device/waiting\?next=/peek_plugin_noop/$"))
    expect(page.get_by_role("heading", name="This device waits for approval")).to_be_visible()
    expect(page.locator("#device-state")).to_have_attribute("data-state", "pending")
    return page.locator("#device-id").text_content()


def _devicesPage(browser, login):
    """The admin Devices page in a context of its own; its context and page."""
    context = browser.new_context()
    page = login(context.new_page(), path="/#/devices")
    expect(page.locator("#page-title")).to_have_text("Devices")
    return context, page


def _openApprovedFieldPage(browser, platform, login, whileWaiting=None):
    """A phone logs in on field and waits; ``whileWaiting(page, admin, row)`` runs; it is
    approved on the admin Devices page and then shows the noop page linked to Peek by
    itself. The phone's context and page, the device id, and the admin's context and page."""
    context = browser.new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    _logInOnField(page, platform)
    deviceId = _waitingDevice(page)
    adminContext, admin = _devicesPage(browser, login)
    row = admin.locator(f'#devices-table tr[data-device="{deviceId}"]')
    expect(row).to_have_attribute("data-state", "pending")
    expect(row).to_contain_text(USER)
    if whileWaiting is not None:
        whileWaiting(page, admin, row)
    row.get_by_role("button", name=f"Approve device {deviceId}").click()
    expect(admin.locator("#devices-status")).to_contain_text(f"device {deviceId}")
    expect(row).to_have_attribute("data-state", "approved")
    expect(page).to_have_url(re.compile(r"/peek_plugin_noop/$"))
    expect(page.get_by_label("Apples value")).to_have_text(re.compile(r"^-?\d+$"))
    expect(page.locator("#link-status")).to_have_attribute("data-state", "online")
    return context, page, deviceId, adminContext, admin


def test_a_new_device_waits_until_an_admin_approves_it(
    browser, platform, login, approvalField, screenshot
):
    """Under approval a new phone logs in to the waiting page (the app is not served); an
    admin approves it on the Devices page; the phone then goes on to the field page by
    itself and links to Peek; the Devices page shows it online."""

    def whileWaiting(page, admin, row):
        screenshot(page, "field-device-waiting")
        app = page.request.get(platform.siteUrl("field") + PAGE_PATH + "index.html")
        assert app.status == 403
        screenshot(admin, "admin-devices-pending")

    context, page, deviceId, adminContext, admin = _openApprovedFieldPage(
        browser, platform, login, whileWaiting
    )
    try:
        row = admin.locator(f'#devices-table tr[data-device="{deviceId}"]')
        expect(row).to_have_attribute("data-online", "true")
        screenshot(admin, "admin-devices-online")
        screenshot(page, "field-device-approved")
    finally:
        adminContext.close()
        context.close()


def test_revoking_a_device_closes_its_link_within_5_s(browser, platform, login, approvalField):
    """Revoking an approved, linked phone on the Devices page closes its vortex link within
    5 s; logging in again from it is refused with a clear message."""
    context, page, deviceId, adminContext, admin = _openApprovedFieldPage(browser, platform, login)
    try:
        row = admin.locator(f'#devices-table tr[data-device="{deviceId}"]')
        admin.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name=f"Revoke device {deviceId}").click()
        expect(page.locator("#link-status")).to_have_attribute(
            "data-state", "offline", timeout=CLOSE_WITHIN_MS
        )
        expect(row).to_have_attribute("data-state", "revoked")
        _logInOnField(page, platform)
        expect(page.get_by_role("alert")).to_contain_text(
            "This device was revoked by an administrator"
        )
    finally:
        adminContext.close()
        context.close()


def test_force_logout_closes_the_users_field_link_within_5_s(
    browser, platform, login, approvalField, screenshot
):
    """Force logout of the user on the Logged in page closes their field page's vortex link
    within 5 s and removes every session of theirs from the page; the admin stays logged
    in."""
    context, page, deviceId, adminContext, admin = _openApprovedFieldPage(browser, platform, login)
    try:
        admin.get_by_role("link", name="Logged in").click()
        sessions = admin.locator(f'#sessions-table tr[data-user-id="local:{USER}"]')
        row = sessions.and_(admin.locator(f'tr[data-device="{deviceId}"]'))
        expect(row).to_contain_text("field")
        screenshot(admin, "admin-logged-in")
        admin.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name=f"Force logout {USER} (field)").click()
        expect(page.locator("#link-status")).to_have_attribute(
            "data-state", "offline", timeout=CLOSE_WITHIN_MS
        )
        expect(admin.locator("#sessions-status")).to_contain_text(f"forced logout of local:{USER}")
        expect(sessions).to_have_count(0)
        expect(admin.locator("#current-user")).to_have_text("admin")
        page.goto(platform.siteUrl("field") + PAGE_PATH)
        expect(page).to_have_url(re.compile(r"/login\?next=/peek_plugin_noop/$"))
    finally:
        adminContext.close()
        context.close()
