"""The noop field page offline in real Chromium: the service worker keeps the app, the offline
tuple storage keeps its items per user (within a budget), a change made offline is sent once,
and logging out forgets the user's data."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

PAGE_PATH = "/peek_plugin_noop/"
PHONE = {"width": 390, "height": 844}
#: An item the noop plugin seeds; only the offline-change test changes it here.
ITEM = "Apples"
#: The status line of a page showing kept items with no network.
OFFLINE_STATUS = re.compile(
    r"^Offline — data from \d\d:\d\d \((less than a minute|\d+ \w+) old\)\."
)
#: The line logic logs for each change of the item (one per processed action).
CHANGE_LINE = rf"Item \d+ '{ITEM}' is now (-?\d+)$"


def _changesSince(logic, mark: int) -> int:
    """How many changes of the item logic logged from line ``mark`` on."""
    return sum(1 for line in logic.lines[mark:] if re.search(CHANGE_LINE, line))


#: Resolves with how many entries the signed-in user's noop store holds (0: no user).
STORED_ENTRIES_JS = """async () => {
  const { TupleOfflineStorage } = await import("/vortex/js/index.js");
  const { signedInUser } = await import("/static/peek-app.mjs");
  const user = await signedInUser();
  if (user === null) return 0;
  const storage = new TupleOfflineStorage("peek_plugin_noop", { userId: user.userId });
  try {
    return (await storage.entries()).length;
  } finally {
    storage.close();
  }
}"""


def _waitUntil(page, function: str, arg=None, timeoutSeconds: float = 30.0, describe=None) -> None:
    """Poll the page until ``function(arg)`` resolves truthy. (``wait_for_function`` does
    not wait for a promise: a pending one is already truthy.) ``describe(page)`` adds the
    page's state to the failure."""
    deadline = time.monotonic() + timeoutSeconds
    while not page.evaluate(function, arg):
        if time.monotonic() > deadline:
            state = f"; {describe(page)}" if describe is not None else ""
            pytest.fail(f"not true within {timeoutSeconds} s: {function}{state}")
        page.wait_for_timeout(100)


def _serviceWorkerState(page) -> str:
    """The page's service worker registration: which workers exist and in what state."""
    return page.evaluate(
        """async () => {
          const r = await navigator.serviceWorker.getRegistration("/");
          if (!r) return "no service worker registration";
          const s = (w) => (w ? w.state : "none");
          return `installing ${s(r.installing)}, waiting ${s(r.waiting)}, active ${s(r.active)}`;
        }"""
    )


def _openOnline(browser, platform, login, site="field"):
    """A logged-in field (office) page in its own context, once the service worker controls
    it (it has kept the app's files) and the items it shows are stored in the browser."""
    context = browser.new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    login(page, path=PAGE_PATH, site=site)
    expect(page.get_by_label(f"{ITEM} value")).to_have_text(re.compile(r"^-?\d+$"))
    expect(page.locator("#link-status")).to_have_attribute("data-state", "online")
    # A function, not an expression: the site's CSP forbids the eval an expression needs.
    # The worker installs only after fetching every kept file, which on a busy machine can
    # take a while: wait for it to control the page, naming its state if it never does.
    _waitUntil(
        page,
        "() => navigator.serviceWorker.controller !== null",
        timeoutSeconds=90.0,
        describe=_serviceWorkerState,
    )
    _waitUntil(page, f"() => ({STORED_ENTRIES_JS})().then((n) => n > 0)")
    return context, page


def _value(page) -> int:
    return int(page.get_by_label(f"{ITEM} value").text_content())


def _increaseWhileOffline(context, page) -> int:
    """Reload the page with the network off, press Increase, and check the change is kept
    to send later; the value shown before, for the caller's checks."""
    before = _value(page)
    context.set_offline(True)
    page.reload()
    expect(page.locator("#items")).to_have_attribute("data-source", "cached")
    page.get_by_role("button", name=f"Increase {ITEM}").click()
    expect(page.locator("#last-change")).to_have_text(f"Kept to send later: increase {ITEM}.")
    return before


@pytest.mark.parametrize("site", ["field", "office"])
def test_offline_reload_shows_kept_items_with_their_age_then_goes_live(
    browser, platform, login, screenshot, site
):
    """After one online visit the page reloads with the network off, showing the kept items
    marked with the time and age of their data, and goes live when the network is back."""
    context, page = _openOnline(browser, platform, login, site)
    try:
        value = _value(page)
        context.set_offline(True)
        page.reload()
        items = page.locator("#items")
        expect(items).to_have_attribute("data-source", "cached")
        expect(page.get_by_label(f"{ITEM} value")).to_have_text(str(value))
        status = page.locator("#link-status")
        expect(status).to_have_attribute("data-state", "offline")
        expect(status).to_have_text(OFFLINE_STATUS)
        assert page.evaluate("navigator.onLine") is False
        screenshot(page, f"{site}-page-offline-reload")

        context.set_offline(False)
        expect(status).to_have_attribute("data-state", "online")
        expect(status).to_have_text("Online.")
        expect(items).to_have_attribute("data-source", "live")
    finally:
        context.close()


#: Makes a cache named like a plugin cache of another version, then unregisters the worker
#: so the next load installs it anew (as after an upgrade).
STALE_CACHE = "peek-field-plugin-peek_plugin_noop-0.0.1-0000000000"
STALE_CACHE_JS = """async (stale) => {
  await caches.open(stale);
  await (await navigator.serviceWorker.getRegistration("/")).unregister();
}"""
#: The cache names, and those the site's manifest lists.
CACHE_NAMES_JS = """async () => {
  const info = await (await fetch("/app-info.json")).json();
  return {
    kept: (await caches.keys()).sort(),
    listed: info.offline.caches.map((cache) => cache.name),
    pages: info.offline.pagesCache,
  };
}"""


def test_a_new_worker_keeps_the_listed_versions_and_deletes_other_caches(browser, platform, login):
    """The caches are named with the versions /app-info.json lists; a newly installed worker
    deletes this site's caches of other versions."""
    context, page = _openOnline(browser, platform, login)
    try:
        page.evaluate(STALE_CACHE_JS, STALE_CACHE)
        page.reload()
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        _waitUntil(
            page, "(stale) => caches.keys().then((names) => !names.includes(stale))", STALE_CACHE
        )
        names = page.evaluate(CACHE_NAMES_JS)
        assert any(name.startswith("peek-field-shell-") for name in names["listed"])
        assert any(
            name.startswith("peek-field-plugin-peek_plugin_noop-0.1.0-") for name in names["listed"]
        )
        assert set(names["kept"]) <= {*names["listed"], names["pages"]}
        assert set(names["listed"]) <= set(names["kept"])
    finally:
        context.close()


def test_change_made_offline_is_delivered_once_when_the_network_returns(browser, platform, login):
    """An increase pressed on a page reloaded offline is kept, sent when the network is back,
    and processed by logic exactly once: the value goes up by one and stays there."""
    context, page = _openOnline(browser, platform, login)
    logic = platform.running["logic"]
    try:
        before = _increaseWhileOffline(context, page)
        expect(page.locator("#link-status")).to_contain_text("1 change(s) waiting to be sent.")
        mark = len(logic.lines)

        context.set_offline(False)
        match = logic.waitForLine(CHANGE_LINE, after=mark)
        assert int(match.group(1)) == before + 1
        expect(page.locator("#last-change")).to_have_text(f"Done: increase {ITEM}.")
        expect(page.get_by_label(f"{ITEM} value")).to_have_text(str(before + 1))
        expect(page.locator("#link-status")).to_have_text("Online.")

        page.reload()
        expect(page.locator("#items")).to_have_attribute("data-source", "live")
        expect(page.locator("#link-status")).to_have_text("Online.")
        expect(page.get_by_label(f"{ITEM} value")).to_have_text(str(before + 1))
        assert _changesSince(logic, mark) == 1
    finally:
        context.close()


def test_change_made_offline_waits_for_a_valid_session_of_the_same_user(browser, platform, login):
    """A change kept offline is not sent over a network that is back while the session is
    gone (the page says the login has ended); once the same user logs in again it is sent,
    once, and the page reports it."""
    context, page = _openOnline(browser, platform, login)
    logic = platform.running["logic"]
    try:
        before = _increaseWhileOffline(context, page)
        mark = len(logic.lines)
        context.clear_cookies()  # the session is gone (as after it expired)

        context.set_offline(False)
        status = page.locator("#link-status")
        expect(status).to_contain_text("Your login has ended")
        expect(status).to_contain_text("1 change(s) waiting to be sent.")
        assert _changesSince(logic, mark) == 0

        login(page, path=PAGE_PATH, site="field")
        match = logic.waitForLine(CHANGE_LINE, after=mark)
        assert int(match.group(1)) == before + 1
        expect(page.locator("#last-change")).to_have_text("Done: a change made earlier was sent.")
        expect(page.get_by_label(f"{ITEM} value")).to_have_text(str(before + 1))
        expect(status).to_have_text("Online.")
        assert _changesSince(logic, mark) == 1
    finally:
        context.close()


#: Saves three entries of ~300 bytes into a 1000-byte budget, using the first one in
#: between, then a fourth; returns what is left (oldest use first) and an oversized save.
EVICTION_JS = """async () => {
  const { TupleOfflineStorage, TupleSelector } = await import("/vortex/js/index.js");
  const storage = new TupleOfflineStorage("eviction-test", {
    userId: "eviction-user",
    budgetBytes: 1000,
  });
  const selector = (n) => new TupleSelector("T", { n });
  const data = (n) => [{ n, text: "x".repeat(200) }];
  await storage.clear();
  await storage.save(selector(1), data(1));
  await storage.save(selector(2), data(2));
  await storage.save(selector(3), data(3));
  await storage.load(selector(1));
  const fourth = await storage.save(selector(4), data(4));
  const huge = await storage.save(selector(5), [{ text: "y".repeat(2000) }]);
  const left = (await storage.entries()).map((e) => JSON.parse(e.key).selector.n);
  const usage = await storage.usage();
  const loaded = await storage.load(selector(1));
  storage.close();
  return { fourth, huge, left, usage, loadedN: loaded.tuples[0].n };
}"""


def test_storage_evicts_the_least_recently_used_entries_beyond_its_budget(browser, platform, login):
    """In Chromium's IndexedDB, a save beyond a (tiny) budget evicts the least recently used
    entry, keeps the one just loaded, and data larger than the budget is not stored."""
    context, page = _openOnline(browser, platform, login)
    try:
        result = page.evaluate(EVICTION_JS)
        assert result["fourth"] == {"stored": True, "evicted": 1}
        assert result["huge"] == {"stored": False, "evicted": 0}
        assert result["left"] == [3, 1, 4]
        assert result["usage"]["entries"] == 3
        assert result["usage"]["bytes"] <= 1000
        assert result["loadedN"] == 1
    finally:
        context.close()


def test_logout_forgets_the_users_data_and_offline_reload_shows_login(
    browser, platform, login, screenshot
):
    """Logging out from the shell deletes the user's stored tuples and the remembered user;
    a reload with the network off then shows the login page, not the app."""
    context, page = _openOnline(browser, platform, login)
    try:
        database = page.evaluate(
            """Promise.all([import('/static/peek-app.mjs'), import('/vortex/js/index.js')])
              .then(async ([app, vortex]) =>
                vortex.offlineDatabaseName((await app.signedInUser()).userId))"""
        )
        databases = "indexedDB.databases().then((dbs) => dbs.map((db) => db.name))"
        assert database in page.evaluate(databases)
        page.goto(platform.siteUrl("field") + "/")
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(re.compile(r"/login$"))
        _waitUntil(
            page,
            "(name) => indexedDB.databases().then((dbs) => !dbs.some((db) => db.name === name))",
            database,
        )
        signedIn = "import('/static/peek-app.mjs').then((m) => m.signedInUser())"
        assert page.evaluate(signedIn) is None

        context.set_offline(True)
        page.goto(platform.siteUrl("field") + PAGE_PATH)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.get_by_label("User name")).to_be_visible()
        assert page.locator("#items").count() == 0
        screenshot(page, "field-login-offline-after-logout")
    finally:
        context.close()
