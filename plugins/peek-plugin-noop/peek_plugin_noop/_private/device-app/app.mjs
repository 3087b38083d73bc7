// The noop page of the field and office apps: the items, live, with buttons that act on them.
//
// It observes the noop observable (proxied by this service to logic) through the offline
// observer, so the page shows the items kept in the browser at once (also with no network:
// the service worker keeps the page itself), then live data; and it pushes actions with the
// offline queue, so a button pressed without a network, or while this service cannot reach
// logic, is sent once both are back. Logic acts for the logged-in user: each item shows who
// changed it last, and changing a value needs the plugin's edit permission.
//
// It also keeps the noop items' chunked index in the browser (bulk data sync: synced each
// time the link comes up, readable offline) and shows how much it keeps and when it synced.

import { TupleSelector, ageText, dataTimeText } from "/vortex/js/index.js";
import { openPluginApp } from "/static/peek-app.mjs";
import {
  NoopIncrementActionTuple,
  NoopItemTuple,
  NoopToggleCapsActionTuple,
  noopActionProcessorName,
  noopBulkIndexName,
  noopFilt,
  noopObservableName,
} from "./tuples.mjs";

/** How often the page asks this service whether it is linked to logic. */
const HEALTH_POLL_MS = 2000;

/** This service's `/health` document, or null when it cannot be read. */
async function readHealth() {
  try {
    const response = await fetch("/health", { cache: "no-store" });
    return await response.json();
  } catch {
    return null;
  }
}

const statusLine = document.getElementById("link-status");
const lastChange = document.getElementById("last-change");
const message = document.getElementById("message");
const list = document.getElementById("items");
const empty = document.getElementById("items-empty");

/** Set an element's text only when it changes, so screen readers announce real changes. */
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * Whether the page can reach logic now, how old the items shown are (`savedAt`, ms; null
 * before any), whether the login session ended, and how many changes wait to be answered.
 */
function showStatus({ online, savedAt, loginRequired, waitingCount }) {
  const waiting = waitingCount ? ` ${waitingCount} change(s) waiting to be sent.` : "";
  statusLine.dataset.state = online ? "online" : "offline";
  let text = "Online.";
  if (!online) {
    const now = Date.now();
    const data =
      savedAt === null
        ? "Offline"
        : `Offline — data from ${dataTimeText(savedAt, now)} (${ageText(now - savedAt)} old)`;
    text = loginRequired
      ? `${data}. Your login has ended: log in again to send changes.`
      : `${data}. Changes are kept and sent when the service is back.`;
  }
  setText(statusLine, text + waiting);
}

function button(text, label, focusKey, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.setAttribute("aria-label", label);
  element.dataset.focusKey = focusKey;
  element.addEventListener("click", onClick);
  return element;
}

/** Who changed an item last, as the page says it (no name: a service, such as a worker). */
function changedByText(item) {
  return `last changed by ${item.lastChangedBy ?? "a service"}`;
}

function renderItems(items, push) {
  empty.textContent = items.length ? "" : "There are no items yet.";
  empty.hidden = items.length > 0;
  const rows = items.map((item) => {
    const row = document.createElement("li");
    row.className = "item";
    const name = document.createElement("span");
    name.className = "item-name";
    name.textContent = item.name;
    const value = document.createElement("output");
    value.className = "item-value";
    value.textContent = String(item.value);
    value.setAttribute("aria-label", `${item.name} value`);
    const changedBy = document.createElement("span");
    changedBy.className = "item-changed-by";
    changedBy.id = `item-${item.id}-changed-by`;
    changedBy.textContent = changedByText(item);
    value.setAttribute("aria-describedby", changedBy.id);
    const actions = document.createElement("div");
    actions.className = "item-actions";
    actions.append(
      button("−", `Decrease ${item.name}`, `${item.id}-decrease`, () =>
        push(new NoopIncrementActionTuple({ itemId: item.id, delta: -1 }), `decrease ${item.name}`)),
      button("+", `Increase ${item.name}`, `${item.id}-increase`, () =>
        push(new NoopIncrementActionTuple({ itemId: item.id, delta: 1 }), `increase ${item.name}`)),
      button("Aa", `Toggle the capitals of ${item.name}`, `${item.id}-caps`, () =>
        push(
          new NoopToggleCapsActionTuple({ itemId: item.id }),
          `toggle the capitals of ${item.name}`,
        )),
    );
    row.append(name, value, actions, changedBy);
    return row;
  });
  // Every update replaces the list; keep the keyboard focus on the same button.
  const focused = document.activeElement?.dataset?.focusKey;
  list.replaceChildren(...rows);
  if (focused) list.querySelector(`[data-focus-key="${focused}"]`)?.focus();
}

/**
 * The bulk data line for a sync state of the items' index (bulk-sync.mjs): how many rows
 * this browser keeps, when they were last synced, and how far a sync is, or why it
 * stopped. The "idle" state is the kept copy before any sync of this page.
 */
function bulkText(state) {
  if (state.status === "not-published") return "Bulk data: not published.";
  const rows = `${state.rows} row${state.rows === 1 ? "" : "s"}`;
  const chunks = `${state.done}/${state.total} chunks`;
  if (state.status === "syncing") return `Bulk data: ${rows}, syncing (${chunks})…`;
  const synced =
    state.lastSyncedAt === null ? "not synced yet" : `synced ${dataTimeText(state.lastSyncedAt)}`;
  if (state.status === "synced") return `Bulk data: ${rows}, ${synced} (${chunks}).`;
  if (state.status === "idle") return `Bulk data: ${rows}, ${synced} (${state.done} chunks kept).`;
  const why = state.status === "offline" ? "offline" : `${state.status}: ${state.reason}`;
  return `Bulk data: ${rows}, ${synced} (${why}).`;
}

/** Show the items' bulk data line, kept current by every sync of the index. */
async function showBulkData(bulk) {
  const line = document.getElementById("bulk-status");
  const show = (state) => {
    line.dataset.status = state.status;
    setText(line, bulkText(state));
  };
  bulk.onProgress(show);
  try {
    const kept = await bulk.info();
    // A sync that started meanwhile shows its own state.
    if (bulk.state.status === "idle") {
      show({ status: "idle", rows: kept.rows, done: kept.chunks, lastSyncedAt: kept.lastSyncedAt });
    }
  } catch (error) {
    setText(line, `Bulk data: cannot read this browser's copy (${error.message}).`);
  }
}

/** Why logic refused to `description`; a missing permission is said plainly. */
function refusalText(description, error) {
  if (error.code === "forbidden") return `You may not ${description}: ${error.remoteMessage}.`;
  return `Logic refused to ${description}: ${error.message}`;
}

async function main() {
  const [health, app] = await Promise.all([readHealth(), openPluginApp("peek_plugin_noop")]);
  const { vortex, observer } = app;
  // Online needs both links: this page to its service, and that service to logic.
  let linkedToService = false;
  let linkedToLogic = health?.linkedToLogic !== false;
  let loginRequired = false;
  let savedAt = null;
  let unanswered = 0;
  const refreshStatus = () =>
    showStatus({
      online: linkedToService && linkedToLogic,
      savedAt,
      loginRequired,
      waitingCount: Math.max(vortex.queuedActionCount, unanswered),
    });

  vortex.onStatus((status) => {
    linkedToService = status.online;
    loginRequired = status.status === "login-required";
    refreshStatus();
  });
  setInterval(async () => {
    const now = await readHealth();
    // An unreadable health means this service is down, which the vortex status shows.
    if (now !== null) linkedToLogic = now.linkedToLogic !== false;
    refreshStatus();
  }, HEALTH_POLL_MS);

  const push = async (action, description) => {
    setText(message, "");
    const online = linkedToService && linkedToLogic;
    setText(lastChange, online ? `Sending: ${description}…` : `Kept to send later: ${description}.`);
    unanswered += 1;
    refreshStatus();
    try {
      // offline: stored in the browser first, then sent until the service answers.
      await vortex.pushAction(noopActionProcessorName, action, {
        additionalFilt: noopFilt,
        offline: true,
      });
      setText(lastChange, `Done: ${description}.`);
    } catch (error) {
      setText(lastChange, "");
      setText(message, refusalText(description, error));
    } finally {
      unanswered -= 1;
      refreshStatus();
    }
  };
  // Answers to actions queued before the page was reloaded.
  vortex.onQueuedActionResult(({ error }) => {
    if (error) setText(message, refusalText("make a change made earlier", error));
    else setText(lastChange, "Done: a change made earlier was sent.");
    refreshStatus();
  });

  // The items kept in this browser come first (marked cached, with their age), then live.
  observer.observe(
    noopObservableName,
    new TupleSelector(NoopItemTuple.tupleType, {}),
    (items, info) => {
      savedAt = info.savedAt;
      list.dataset.source = info.cached ? "cached" : "live";
      renderItems(items, push);
      refreshStatus();
    },
    { additionalFilt: noopFilt, onError: (error) => setText(message, error.message) },
  );
  showBulkData(app.bulkIndex(noopBulkIndexName));
}

main();
