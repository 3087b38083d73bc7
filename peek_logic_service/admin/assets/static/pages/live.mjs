// The admin pages' link to the logic service: one vortex client for the whole shell,
// the offline banner, and small DOM helpers shared by the section pages.

import { TupleGenericAction, TupleSelector, VortexClient } from "/vortex/js/index.js";
import { adminFetch } from "/static/admin.mjs";

/** Observable and action processor of the admin pages (see live_data.py). */
export const ADMIN_OBSERVABLE = "peek_logic_service.admin";
const ADMIN_FILT = { plugin: ADMIN_OBSERVABLE };

let client = null;

function showBanner(online) {
  const banner = document.getElementById("offline-banner");
  if (banner) {
    banner.hidden = online;
  }
  document.body.classList.toggle("offline", !online);
}

/** The admin browser's vortex client, created on first use. */
export function adminVortex() {
  if (client === null) {
    client = new VortexClient({ url: "/vortexws", vortexName: "peek-admin-app" });
    let wasOnline = false;
    client.onStatus(({ online }) => {
      // Before the first link the banner waits (below): connecting is not being offline.
      if (online || wasOnline) {
        showBanner(online);
      }
      if (wasOnline && !online) {
        // The link may have dropped because the session ended: adminFetch sends a
        // 401 to the login page. A network error means logic itself is down.
        adminFetch("/api/session").catch(() => {});
      }
      wasOnline = online;
    });
    setTimeout(() => showBanner(wasOnline), 3000);
  }
  return client;
}

/** Observe one admin tuple type: `callback(tuples)` now and after every change. */
export function observeAdmin(tupleName, callback, onError) {
  return adminVortex().observe(ADMIN_OBSERVABLE, new TupleSelector(tupleName, {}), callback, {
    additionalFilt: ADMIN_FILT,
    onError,
  });
}

/** Push an admin action (`TupleGenericAction`); resolves with the result tuples. */
export function pushAdminAction(key, data) {
  const action = new TupleGenericAction({ key, data });
  return adminVortex().pushAction(ADMIN_OBSERVABLE, action, { additionalFilt: ADMIN_FILT });
}

/** A new element: `el("td", {class: "x"}, "text", child)`; attributes set as given. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) {
      continue;
    }
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : String(child ?? ""));
  }
  return node;
}

/** A `<time>` for a VortexDateTime (or null → "—"). */
export function timeElement(value) {
  if (value === null || value === undefined) {
    return document.createTextNode("—");
  }
  const date = typeof value.toDate === "function" ? value.toDate() : new Date(value);
  return el("time", { datetime: date.toISOString() }, date.toLocaleString());
}

/** A polite live region for short "what changed" notes (screen readers hear them). */
export function liveNote(id) {
  return el("p", { id, class: "live-note", role: "status", "aria-live": "polite" });
}

/** A page-level error shown where the data would be. */
export function errorNote(message) {
  return el("p", { class: "error", role: "alert" }, message);
}
