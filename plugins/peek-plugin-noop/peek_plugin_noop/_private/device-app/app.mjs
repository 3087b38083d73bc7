// The noop page of the field and office apps: the items, live, with buttons that act on them.
//
// It observes the noop observable (proxied by this service to logic) and pushes actions
// with the offline queue, so a button pressed without a network is sent when back online.

import { TupleSelector, VortexClient } from "/vortex/js/index.js";
import {
  NoopIncrementActionTuple,
  NoopItemTuple,
  NoopToggleCapsActionTuple,
  noopActionProcessorName,
  noopFilt,
  noopObservableName,
} from "./tuples.mjs";

/** The browser vortex name of the site serving this page (field or office). */
async function appVortexName() {
  try {
    const response = await fetch("/health", { cache: "no-store" });
    const body = await response.json();
    if (body.service === "peek-office-service") return "peek-office-app";
  } catch {
    // Unknown: the field name is as good as any for a link to this service.
  }
  return "peek-field-app";
}

const statusLine = document.getElementById("link-status");
const message = document.getElementById("message");
const list = document.getElementById("items");
const empty = document.getElementById("items-empty");

function showMessage(text) {
  message.textContent = text;
}

function showStatus(vortex, online) {
  const queued = vortex.queuedActionCount;
  const waiting = queued ? ` ${queued} change(s) waiting to be sent.` : "";
  statusLine.dataset.state = online ? "online" : "offline";
  statusLine.textContent = (online ? "Online." : "Offline: changes are kept and sent later.") +
    waiting;
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
    const actions = document.createElement("div");
    actions.className = "item-actions";
    actions.append(
      button("−", `Decrease ${item.name}`, `${item.id}-decrease`, () =>
        push(new NoopIncrementActionTuple({ itemId: item.id, delta: -1 }))),
      button("+", `Increase ${item.name}`, `${item.id}-increase`, () =>
        push(new NoopIncrementActionTuple({ itemId: item.id, delta: 1 }))),
      button("Aa", `Toggle the capitals of ${item.name}`, `${item.id}-caps`, () =>
        push(new NoopToggleCapsActionTuple({ itemId: item.id }))),
    );
    row.append(name, value, actions);
    return row;
  });
  // Every update replaces the list; keep the keyboard focus on the same button.
  const focused = document.activeElement?.dataset?.focusKey;
  list.replaceChildren(...rows);
  if (focused) list.querySelector(`[data-focus-key="${focused}"]`)?.focus();
}

async function main() {
  const vortex = new VortexClient({ vortexName: await appVortexName() });
  let online = false;
  vortex.onStatus((status) => {
    online = status.online;
    showStatus(vortex, online);
  });

  const push = async (action) => {
    showMessage("");
    try {
      // offline: stored in the browser first, then sent until the service answers.
      await vortex.pushAction(noopActionProcessorName, action, {
        additionalFilt: noopFilt,
        offline: true,
      });
    } catch (error) {
      showMessage(`The change was refused: ${error.message}`);
    } finally {
      showStatus(vortex, online);
    }
  };
  // Answers to actions queued before the page was reloaded.
  vortex.onQueuedActionResult(({ error }) => {
    if (error) showMessage(`A change made earlier was refused: ${error.message}`);
  });

  vortex.observe(
    noopObservableName,
    new TupleSelector(NoopItemTuple.tupleType, {}),
    (items) => renderItems(items, push),
    { additionalFilt: noopFilt, onError: (error) => showMessage(error.message) },
  );
}

main();
