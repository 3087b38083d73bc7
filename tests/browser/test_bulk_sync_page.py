"""Bulk data sync on the noop page in real Chromium, against the real services: logic
publishes the noop items as the chunked index ``items``, the worker compiles it, field and
office serve it, and the page keeps a copy in IndexedDB, shows it ("Bulk data: ..."), keeps
it offline, takes in a changed item by downloading one chunk, and loses it at logout.

The protocol cases (interruption, 409, gzip) are in ``test_bulk_sync_protocol.py``."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

PAGE_PATH = "/peek_plugin_noop/"
PHONE = {"width": 390, "height": 844}
#: An item the noop plugin seeds.
ITEM = "Apples"
#: The line of a page whose copy matches the service: rows, time, chunks done/total.
SYNCED_LINE = re.compile(r"^Bulk data: (\d+) rows?, synced \d\d:\d\d \((\d+)/(\d+) chunks\)\.$")
#: The line of a page that has not synced since it loaded (offline): the kept copy.
KEPT_LINE = re.compile(r"^Bulk data: (\d+) rows?, synced \d\d:\d\d \((\d+) chunks kept\)\.$")

#: Resolves with the signed-in user's copy of the noop items index after calling
#: ``method`` on it: {result, rows: {key: row}}.
COPY_JS = """async (method) => {
  const { ChunkedIndexSync } = await import("/static/bulk-sync.mjs");
  const { signedInUser } = await import("/static/peek-app.mjs");
  const user = await signedInUser();
  const copy = new ChunkedIndexSync("peek_plugin_noop", "items", { userId: user.userId });
  try {
    const result = method === "sync" ? await copy.sync() : await copy.info();
    const rows = {};
    await copy.query((row, key) => { rows[key] = row; return false; });
    return { result, rows };
  } finally {
    copy.close();
  }
}"""


def _waitUntil(page, function: str, arg=None, timeoutSeconds: float = 60.0) -> None:
    """Poll the page until ``function(arg)`` resolves truthy (``wait_for_function`` does not
    wait for a promise)."""
    deadline = time.monotonic() + timeoutSeconds
    while not page.evaluate(function, arg):
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeoutSeconds} s: {function}")
        page.wait_for_timeout(200)


def _openSynced(browser, login, site: str):
    """A logged-in noop page whose bulk data line says it synced the whole index. The
    service may still be fetching the index from logic when the page first loads (it then
    says "not published"), so the page is reloaded once the index is served."""
    context = browser.new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    login(page, path=PAGE_PATH, site=site)
    expect(page.locator("#link-status")).to_have_attribute("data-state", "online")
    _waitUntil(
        page,
        """() => fetch("/bulk/peek_plugin_noop/items/hashes", {
          headers: { Accept: "application/json" },
        }).then((r) => r.ok)""",
    )
    page.reload()
    line = page.locator("#bulk-status")
    expect(line).to_have_attribute("data-status", "synced")
    expect(line).to_have_text(SYNCED_LINE)
    return context, page


def _itemNames(page) -> list[str]:
    expect(page.get_by_label(f"{ITEM} value")).to_have_text(re.compile(r"^-?\d+$"))
    return sorted(page.locator("#items .item-name").all_text_contents())


@pytest.mark.parametrize("site", ["field", "office"])
def test_noop_page_keeps_the_items_index_and_shows_it_offline(browser, login, screenshot, site):
    """The page's copy of the items index holds one row per item (the items the page lists)
    in all the chunks the service has; reloaded offline, the page shows the kept copy and
    it still answers queries."""
    context, page = _openSynced(browser, login, site)
    try:
        match = SYNCED_LINE.match(page.locator("#bulk-status").text_content())
        rows, done, total = (int(group) for group in match.groups())
        assert done == total
        names = _itemNames(page)
        assert rows == len(names)
        copy = page.evaluate(COPY_JS, "info")
        assert sorted(row["name"] for row in copy["rows"].values()) == names
        assert copy["result"]["chunks"] == total
        screenshot(page, f"{site}-page-bulk-data")

        context.set_offline(True)
        page.reload()
        line = page.locator("#bulk-status")
        expect(line).to_have_attribute("data-status", "idle")
        expect(line).to_have_text(KEPT_LINE)
        assert KEPT_LINE.match(line.text_content()).groups() == (str(rows), str(total))
        offline = page.evaluate(COPY_JS, "sync")
        assert offline["result"]["status"] == "offline"
        assert sorted(row["name"] for row in offline["rows"].values()) == names
    finally:
        context.close()


def test_a_changed_item_reaches_the_device_copy_in_one_chunk(browser, login):
    """After an item changes, syncing the copy downloads exactly one chunk (the item's) and
    the copy then has the new value."""
    context, page = _openSynced(browser, login, "field")
    try:
        before = int(page.get_by_label(f"{ITEM} value").text_content())
        page.get_by_role("button", name=f"Increase {ITEM}").click()
        expect(page.get_by_label(f"{ITEM} value")).to_have_text(str(before + 1))

        # Logic republishes, the worker compiles, the field service fetches the changed
        # chunk: sync until the copy has the new value, counting what each sync downloads.
        downloaded = 0
        deadline = time.monotonic() + 60.0
        while True:
            copy = page.evaluate(COPY_JS, "sync")
            assert copy["result"]["status"] == "synced", copy["result"]
            downloaded += copy["result"]["downloaded"]
            apples = [row for row in copy["rows"].values() if row["name"] == ITEM]
            if apples and apples[0]["value"] == before + 1:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the copy did not get {ITEM} = {before + 1} within 60 s: {apples}")
            page.wait_for_timeout(300)
        assert downloaded == 1
    finally:
        context.close()


def test_logout_deletes_the_users_bulk_data(browser, platform, login):
    """Logging out from the shell deletes the user's bulk database with their other data."""
    context, page = _openSynced(browser, login, "field")
    try:
        database = page.evaluate(
            """import('/static/peek-app.mjs').then(async (app) =>
                 'peek-bulk:' + encodeURIComponent((await app.signedInUser()).userId))"""
        )
        names = "indexedDB.databases().then((dbs) => dbs.map((db) => db.name))"
        assert database in page.evaluate(names)
        page.goto(platform.siteUrl("field") + "/")
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(re.compile(r"/login$"))
        _waitUntil(
            page,
            "(name) => indexedDB.databases().then((dbs) => !dbs.some((db) => db.name === name))",
            database,
        )
    finally:
        context.close()
