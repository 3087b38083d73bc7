// Overview: every Peek service, whether it is linked to logic, since when, where it runs
// and its plugins' states, updated live from the platform status.

import { el, errorNote, liveNote, observeAdmin, timeElement } from "./live.mjs";

const SERVICE_KEYS = ["logic", "field", "office", "agent", "worker"];

function pluginSummary(plugins) {
  if (!plugins.length) {
    return "none";
  }
  return el(
    "ul",
    { class: "plugin-states" },
    plugins.map((p) =>
      el("li", { "data-plugin": p.name }, `${p.name}: `, el("span", { class: `state state-${p.state}` }, p.state)),
    ),
  );
}

function serviceRow(key, status) {
  if (!status) {
    return el(
      "tr",
      { "data-service": key, "data-link": "never" },
      el("th", { scope: "row" }, key),
      el("td", {}, el("span", { class: "state state-never" }, "not seen")),
      el("td", { colspan: 5 }, "This service has not reported to logic since logic started."),
    );
  }
  const link = status.connected ? "connected" : "disconnected";
  const since = status.connected ? status.connectedSince : status.disconnectedAt;
  return el(
    "tr",
    { "data-service": key, "data-link": link },
    el("th", { scope: "row" }, key),
    el("td", {}, el("span", { class: `state state-${link}` }, status.connected ? "Connected" : "Disconnected")),
    el("td", {}, timeElement(since)),
    el("td", {}, status.host),
    el("td", {}, String(status.pid)),
    el("td", {}, status.version),
    el("td", {}, pluginSummary(status.plugins ?? [])),
  );
}

/** Latest entry per service key (a restarted service appears once, connected first). */
function byService(services) {
  const result = new Map();
  for (const status of services) {
    const old = result.get(status.serviceKey);
    if (!old || (status.connected && !old.connected)) {
      result.set(status.serviceKey, status);
    }
  }
  return result;
}

export function render(container) {
  const note = liveNote("overview-note");
  const tbody = el("tbody");
  const table = el(
    "table",
    { class: "data", id: "services-table" },
    el("caption", {}, "Peek services and their link to the logic service"),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["Service", "Link", "Since", "Host", "PID", "Version", "Plugins"].map((h) => el("th", { scope: "col" }, h)),
      ),
    ),
    tbody,
  );
  container.replaceChildren(note, table);
  let previous = null;
  const stop = observeAdmin(
    "peek_platform.PlatformStatusTuple",
    (tuples) => {
      const services = byService(tuples[0]?.services ?? []);
      const keys = [...SERVICE_KEYS, ...[...services.keys()].filter((k) => !SERVICE_KEYS.includes(k))];
      tbody.replaceChildren(...keys.map((key) => serviceRow(key, services.get(key))));
      if (previous) {
        const changes = keys
          .filter((key) => (previous.get(key)?.connected ?? null) !== (services.get(key)?.connected ?? null))
          .map((key) => `${key} ${services.get(key)?.connected ? "connected" : "disconnected"}`);
        if (changes.length) {
          note.textContent = `Changed: ${changes.join(", ")}.`;
        }
      }
      previous = services;
    },
    (error) => container.replaceChildren(errorNote(`The platform status is not available: ${error.message}`)),
  );
  return { stop };
}
