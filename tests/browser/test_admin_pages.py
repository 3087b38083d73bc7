"""The admin site in real Chromium: login, and the live Overview and Settings pages."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

SERVICE_KEYS = ("logic", "field", "office", "agent", "worker")


def test_wrong_password_is_refused_and_right_one_accepted(context, login):
    """A wrong password stays on the login page with an error; the right one opens the shell."""
    page = context.new_page()
    login(page, password="not-the-password")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    login(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.locator("#current-user")).to_have_text("admin")


def test_pages_need_login(context, platform):
    """Without a session the shell, its APIs and a section link all lead to the login page."""
    page = context.new_page()
    admin = platform.siteUrl("admin")
    page.goto(admin + "/#/settings")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_label("Password")).to_be_visible()
    assert page.request.get(admin + "/api/session").status == 401
    assert page.request.get(admin + "/api/plugin-pages").status == 401


def _row(page, key):
    return page.locator(f'#services-table tr[data-service="{key}"]')


def test_overview_shows_services_and_follows_a_restart(context, login, platform, screenshot):
    """All five services appear connected with noop started; stopping the agent shows it
    disconnected and starting it again shows it connected, without a reload."""
    page = context.new_page()
    login(page, path="/#/overview")
    for key in SERVICE_KEYS:
        expect(_row(page, key)).to_have_attribute("data-link", "connected")
        expect(_row(page, key).locator('li[data-plugin="peek_plugin_noop"]')).to_contain_text(
            "started"
        )
    expect(page.locator("#offline-banner")).to_be_hidden()
    screenshot(page, "admin-overview")
    page.evaluate("window.__notReloaded = true")

    platform.stop("agent")
    expect(_row(page, "agent")).to_have_attribute("data-link", "disconnected")
    expect(page.locator("#overview-note")).to_contain_text("agent disconnected")
    platform.start("agent")
    expect(_row(page, "agent")).to_have_attribute("data-link", "connected")
    expect(_row(page, "agent").locator('li[data-plugin="peek_plugin_noop"]')).to_contain_text(
        "started"
    )
    assert page.evaluate("window.__notReloaded") is True


def test_plugins_and_config_pages(context, login):
    """Plugins lists each service's plugins with their state; Config masks secrets."""
    page = context.new_page()
    login(page, path="/#/plugins")
    logic = page.locator('section[data-service="logic"]')
    expect(logic.locator('tr[data-plugin="peek_plugin_btest"]')).to_have_attribute(
        "data-state", "started"
    )
    page.get_by_role("link", name="Config").click()
    secret = page.locator('tr[data-key="dataExchange.secret"]')
    expect(secret).to_contain_text("(hidden)")
    expect(page.locator("#page-content")).not_to_contain_text("browser-test-data-exchange-secret")
    expect(page.locator('tr[data-key="admin.recoveryPassword"]')).to_contain_text("(hidden)")


def test_plugins_page_lists_the_slowest_to_load_and_start_first(context, login):
    """The "Slowest to load and start" table lists plugins of every service by load plus
    start time, slowest first (the shown values are rounded to ms, hence the 1 ms slack)."""
    page = context.new_page()
    login(page, path="/#/plugins")
    rows = page.locator("table.slowest tbody tr")
    expect(rows.first).to_be_visible()
    expect(rows.filter(has_text="logic (")).not_to_have_count(0)
    expect(rows.filter(has_text="field (")).not_to_have_count(0)
    cells = rows.evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('td')].slice(1).map(c => c.textContent))"
    )
    totals = [sum(int(value.removesuffix(" ms")) for value in row) for row in cells]
    assert len(totals) >= 2
    assert all(earlier + 1 >= later for earlier, later in itertools.pairwise(totals)), totals


def test_setting_saved_in_admin_page_reaches_the_plugin(context, login, platform, screenshot):
    """A wrong-typed value is refused in the page; a saved greeting is what the plugin reads."""
    logic = platform.running["logic"]
    logic.waitForLine(r"BTEST setting greeting=hello$")
    page = context.new_page()
    login(page, path="/#/settings")
    repeat = page.locator('form[data-setting="repeat"]')
    repeat.get_by_label(re.compile("^repeat")).fill("two")
    repeat.get_by_role("button", name="Save").click()
    expect(repeat.locator(".field-status")).to_have_text("Enter a whole number, such as 42.")

    form = page.locator('form[data-plugin="peek_plugin_btest"][data-setting="greeting"]')
    expect(form).to_contain_text('Default: "hello"')
    mark = len(logic.lines)
    form.get_by_label(re.compile("^greeting")).fill("hi from the admin page")
    form.get_by_role("button", name="Save").click()
    expect(form.locator(".field-status")).to_have_text('Saved: "hi from the admin page".')
    logic.waitForLine(r"BTEST setting greeting=hi from the admin page$", after=mark)
    expect(form.locator(".current-value")).to_have_text('"hi from the admin page"')
    screenshot(page, "admin-settings")


def test_logs_page_updates_live(context, login, platform):
    """The Logs page shows logic's log file and new lines appear without a reload."""
    page = context.new_page()
    login(page, path="/#/logs")
    lines = page.locator("#log-lines")
    expect(lines).to_contain_text("admin user 'admin' logged in")
    platform.stop("office")
    platform.start("office")
    expect(lines).to_contain_text(re.compile(r"office|peek-office-service"))


def test_plugins_page_disables_and_enables_noop_on_field(context, login, platform, screenshot):
    """Disable on field's noop row stops noop in the running field process (same pid) and
    shows it disabled, logic's noop untouched; Enable starts it again there, and a field
    page then gets noop's data and live updates again."""
    field = platform.running["field"]
    pid = field.pid
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, path="/#/plugins")
    row = page.locator('section[data-service="field"] tr[data-plugin="peek_plugin_noop"]')
    expect(row).to_have_attribute("data-state", "started")
    expect(row.locator("td").nth(2)).to_contain_text(re.compile(r"\d+ ms"))

    mark = len(field.lines)
    row.get_by_role("button", name="Disable").click()
    expect(row).to_have_attribute("data-state", "disabled")
    expect(page.locator("#plugins-status")).to_contain_text("disable peek_plugin_noop: field pid")
    field.waitForLine(r"peek_plugin_noop: disabled in [\d.]+ ms: disabled by admin", after=mark)
    logicRow = page.locator('section[data-service="logic"] tr[data-plugin="peek_plugin_noop"]')
    expect(logicRow).to_have_attribute("data-state", "started")
    screenshot(page, "admin-plugins-disabled")

    row.get_by_role("button", name="Enable").click()
    expect(row).to_have_attribute("data-state", "started")
    field.waitForLine(r"peek_plugin_noop: started in", after=mark)
    assert field.pid == pid and field.exitStatus is None

    fieldPage = context.new_page()
    login(fieldPage, path="/peek_plugin_noop/", site="field")
    value = fieldPage.get_by_label("Apples value")
    expect(value).to_have_text(re.compile(r"^-?\d+$"))
    before = int(value.text_content())
    fieldPage.get_by_role("button", name="Increase Apples").click()
    expect(value).to_have_text(str(before + 1))


def test_overview_draws_the_last_15_minutes_charts(context, login, screenshot):
    """The Overview shows the four charts of logic's samples, each with a drawn line once
    logic has taken a sample (every 10 s)."""
    page = context.new_page()
    login(page, path="/#/overview")
    for chart in ("messages", "rpc", "devices", "tasks"):
        expect(page.locator(f'svg[data-chart="{chart}"]')).to_be_visible()
    line = page.locator('svg[data-chart="messages"] polyline')
    expect(line).to_have_attribute("points", re.compile(r"^\d+(\.\d)?,\d+(\.\d)?"), timeout=25_000)
    expect(page.locator(".chart-grid")).to_have_attribute("data-samples", re.compile(r"^[1-9]"))
    screenshot(page, "admin-overview-charts")
