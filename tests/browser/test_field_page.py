"""The noop plugin's field page in real Chromium on a phone-sized screen: live updates across
pages, and the offline queue while logic is stopped (and started again)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

PAGE_PATH = "/peek_plugin_noop/"
#: A phone's screen (CSS pixels): the field app is used on phones.
PHONE = {"width": 390, "height": 844}
#: An item the noop plugin seeds; no worker task or other test renames it.
ITEM = "Apples"


def _open(browser, platform, login):
    """A field page on a phone-sized screen in its own browser context (own offline queue),
    opened after logging in on the field login page as the recovery admin."""
    context = browser.new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    login(page, path=PAGE_PATH, site="field")
    expect(page).to_have_url(re.compile(r"/peek_plugin_noop/$"))
    expect(page.get_by_label(f"{ITEM} value")).to_have_text(re.compile(r"^-?\d+$"))
    expect(page.locator("#link-status")).to_have_attribute("data-state", "online")
    return context, page


def _value(page) -> int:
    return int(page.get_by_label(f"{ITEM} value").text_content())


def test_action_updates_every_open_field_page(browser, platform, screenshot, login):
    """A button on one page pushes an action; both open pages show the new value, no reload,
    and that the logged-in recovery admin ("admin") changed the item last."""
    firstContext, first = _open(browser, platform, login)
    secondContext, second = _open(browser, platform, login)
    try:
        before = _value(first)
        expect(second.get_by_label(f"{ITEM} value")).to_have_text(str(before))
        second.evaluate("window.__notReloaded = true")
        first.get_by_role("button", name=f"Increase {ITEM}").click()
        expect(first.locator("#last-change")).to_have_text(f"Done: increase {ITEM}.")
        expect(first.get_by_label(f"{ITEM} value")).to_have_text(str(before + 1))
        expect(second.get_by_label(f"{ITEM} value")).to_have_text(str(before + 1))
        for page in (first, second):
            changedBy = page.locator(".item", has_text=ITEM).locator(".item-changed-by")
            expect(changedBy).to_have_text("last changed by admin")
        assert second.evaluate("window.__notReloaded") is True
        screenshot(first, "field-page")
    finally:
        firstContext.close()
        secondContext.close()


def test_action_queued_while_logic_is_down_is_delivered_later(browser, platform, screenshot, login):
    """With logic stopped the field page and the admin page say they are offline; an action
    pushed then is delivered once logic is back, and its result is shown."""
    context, page = _open(browser, platform, login)
    adminContext = browser.new_context()
    try:
        admin = login(adminContext.new_page(), path="/#/overview")
        expect(admin.locator('#services-table tr[data-service="logic"]')).to_have_attribute(
            "data-link", "connected"
        )
        platform.stop("logic")
        status = page.locator("#link-status")
        expect(status).to_have_attribute("data-state", "offline")
        expect(admin.locator("#offline-banner")).to_be_visible()
        page.get_by_role("button", name=f"Increase {ITEM}").click()
        expect(page.locator("#last-change")).to_have_text(f"Kept to send later: increase {ITEM}.")
        expect(status).to_contain_text("1 change(s) waiting to be sent.")
        screenshot(page, "field-page-offline")

        logic = platform.start("logic")
        match = logic.waitForLine(rf"Item \d+ '{ITEM}' is now (-?\d+)$")
        expect(status).to_have_attribute("data-state", "online")
        expect(page.locator("#last-change")).to_have_text(f"Done: increase {ITEM}.")
        expect(page.get_by_label(f"{ITEM} value")).to_have_text(match.group(1))
        expect(status).to_have_text("Online.")
    finally:
        adminContext.close()
        context.close()


def test_field_login_refuses_a_wrong_password_and_logout_returns_to_login(
    browser, platform, screenshot
):
    """The field login page shows an error for a wrong password; the right one opens the
    page that was asked for; logging out from the shell returns to the login page and
    closes the vortex link of the page still open in another tab within 5 s."""
    context = browser.new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    try:
        page.goto(platform.siteUrl("field") + PAGE_PATH)
        expect(page).to_have_url(re.compile(r"/login\?next=/peek_plugin_noop/$"))
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill("not-the-password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_have_text("Wrong user name or password.")
        screenshot(page, "field-login-refused")
        page.get_by_label("Password").fill(platform.adminPassword)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/peek_plugin_noop/$"))
        expect(page.get_by_label(f"{ITEM} value")).to_have_text(re.compile(r"^-?\d+$"))
        expect(page.locator("#link-status")).to_have_attribute("data-state", "online")
        shell = context.new_page()
        shell.goto(platform.siteUrl("field") + "/")
        expect(shell.locator("#account-user")).to_have_text("admin")
        shell.get_by_role("button", name="Log out").click()
        expect(shell).to_have_url(re.compile(r"/login$"))
        expect(page.locator("#link-status")).to_have_attribute(
            "data-state", "offline", timeout=5000
        )
        screenshot(page, "field-page-after-logout")
        page.goto(platform.siteUrl("field") + PAGE_PATH)
        expect(page).to_have_url(re.compile(r"/login\?next=/peek_plugin_noop/$"))
    finally:
        context.close()
