"""The noop plugin's admin page in real Chromium: granting and revoking its edit permission
per role through the admin site's roles API."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

PAGE_PATH = "/peek_plugin_noop/"
EDIT = "peek_plugin_noop.edit"
#: A role made for this test; it starts granting only ``admin`` (a role needs one).
ROLE = "noop_page_editors"

#: Creates ROLE through the API as the admin site's own pages do (session CSRF token).
CREATE_ROLE = """async (name) => {
  const session = await (await fetch("/api/session")).json();
  const response = await fetch("/api/roles", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": session.csrfToken },
    body: JSON.stringify({ name, permissions: ["admin"], description: "Noop page test" }),
  });
  return response.status;
}"""


def test_admin_page_grants_and_revokes_the_edit_permission(context, login, screenshot):
    """The noop admin page lists the roles with whether each grants peek_plugin_noop.edit
    and its declared meaning; Grant adds it to the role (the page then says Yes and offers
    Revoke), Revoke takes it away again, keeping the role's other permission."""
    page = login(context.new_page(), path=PAGE_PATH)
    expect(page).to_have_url(re.compile(r"/peek_plugin_noop/$"))
    assert page.evaluate(CREATE_ROLE, ROLE) == 200
    page.reload()

    expect(page.locator("#edit-permission-description")).to_have_text(
        re.compile(r"^Change the value of noop items")
    )
    row = page.locator(f'#roles tr[data-role="{ROLE}"]')
    expect(row.locator("td").nth(2)).to_have_text("No")
    row.get_by_role("button", name=f"Grant {EDIT} to role {ROLE}").click()
    expect(page.locator("#roles-status")).to_have_text(f"Done: role {ROLE} grants admin, {EDIT}.")
    expect(row.locator("td").nth(2)).to_have_text("Yes")
    screenshot(page, "noop-admin-permission")

    row.get_by_role("button", name=f"Revoke {EDIT} from role {ROLE}").click()
    expect(page.locator("#roles-status")).to_have_text(f"Done: role {ROLE} grants admin.")
    expect(row.locator("td").nth(2)).to_have_text("No")
