"""A plugin's field page in real Chromium: live updates across pages, and the offline queue.

Runs after the admin tests (file order): the last test stops and restarts logic.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

PAGE_PATH = "/peek_plugin_btest/"


def _open(browser, platform):
    """A field page in its own browser context (own offline queue store)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(platform.siteUrl("field") + PAGE_PATH)
    expect(page.locator("#counter")).to_have_text(re.compile(r"^\d+$"))
    expect(page.locator("#offline")).to_be_hidden()
    return context, page


def test_action_updates_every_open_field_page(browser, platform, screenshot):
    """A button on one page pushes an action; both open pages show the new value, no reload."""
    firstContext, first = _open(browser, platform)
    secondContext, second = _open(browser, platform)
    try:
        before = int(first.locator("#counter").text_content())
        expect(second.locator("#counter")).to_have_text(str(before))
        second.evaluate("window.__notReloaded = true")
        first.get_by_role("button", name="Add one").click()
        expect(first.locator("#result")).to_have_text(f"Logic counted {before + 1}.")
        expect(first.locator("#counter")).to_have_text(str(before + 1))
        expect(second.locator("#counter")).to_have_text(str(before + 1))
        assert second.evaluate("window.__notReloaded") is True
        screenshot(first, "field-page")
    finally:
        firstContext.close()
        secondContext.close()


def test_action_queued_while_logic_is_down_is_delivered_later(browser, platform, screenshot, login):
    """With logic stopped the field page and the admin page say they are offline; an action
    pushed then is delivered once logic is back, and its result is shown."""
    context, page = _open(browser, platform)
    adminContext = browser.new_context()
    try:
        admin = login(adminContext.new_page(), path="/#/overview")
        expect(admin.locator('#services-table tr[data-service="logic"]')).to_have_attribute(
            "data-link", "connected"
        )
        platform.stop("logic")
        expect(page.locator("#offline")).to_be_visible()
        expect(admin.locator("#offline-banner")).to_be_visible()
        page.get_by_role("button", name="Add one").click()
        expect(page.locator("#result")).to_have_text("Queued until the logic service is back.")
        screenshot(page, "field-page-offline")

        logic = platform.start("logic")
        match = logic.waitForLine(r"BTEST counter=(\d+) action=")
        expect(page.locator("#offline")).to_be_hidden()
        expect(page.locator("#result")).to_have_text(f"Logic counted {match.group(1)}.")
        expect(page.locator("#counter")).to_have_text(match.group(1))
    finally:
        adminContext.close()
        context.close()
