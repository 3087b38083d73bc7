"""The admin Users and Roles pages in real Chromium, against a running logic service."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

ROLE, USER = "btest-operators", "btest-alice"


def test_role_ticked_then_user_added_with_it(context, login, screenshot):
    """On Roles, ticking ``admin`` for a new role saves and lists it; on Users, a too
    short password is refused naming the policy, then the user added with that role is
    listed as enabled, local and holding it."""
    page = context.new_page()
    login(page, path="/#/roles")
    form = page.locator("#role-form")
    form.get_by_label("Name").fill(ROLE)
    form.get_by_label("Description").fill("Operators of the browser test")
    form.get_by_role("checkbox", name=re.compile(r"^admin — Use the admin site")).check()
    form.get_by_role("button", name="Save role").click()
    expect(form.locator("#role-form-status")).to_have_text(f"Done: role {ROLE} grants admin.")
    row = page.locator(f'#roles-table tr[data-role="{ROLE}"]')
    expect(row.locator('li[data-permission="admin"]')).to_be_visible()
    expect(row).to_contain_text("Operators of the browser test")
    screenshot(page, "admin-roles")

    page.get_by_role("link", name="Users").click()
    add = page.locator("#add-user-form")
    add.get_by_label("Name").fill(USER)
    add.get_by_label("Password", exact=True).fill("short")
    add.get_by_label("Repeat the password").fill("short")
    add.get_by_role("checkbox", name=re.compile(f"^{ROLE}")).check()
    add.get_by_role("button", name="Add user").click()
    expect(add.locator("#add-user-status")).to_have_text(
        "Not changed: password too short: it has 5 characters, at least 8 are required."
    )
    expect(add.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")

    add.get_by_label("Password", exact=True).fill("a-long-enough-password")
    add.get_by_label("Repeat the password").fill("a-long-enough-password")
    add.get_by_role("button", name="Add user").click()
    expect(add.locator("#add-user-status")).to_have_text(
        f"Done: added user {USER} with roles {ROLE}."
    )
    user = page.locator(f'#users-table tr[data-user="{USER}"]')
    expect(user.locator("td")).to_have_text(["yes", ROLE, "local", re.compile(f"Change {USER}")])
    screenshot(page, "admin-users")
