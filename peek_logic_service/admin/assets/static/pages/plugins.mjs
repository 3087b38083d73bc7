// Plugins: per service, each plugin's version, state and, when it failed, why.

import { el, errorNote, liveNote, observeAdmin } from "./live.mjs";

function serviceSection(status) {
  const headingId = `plugins-${status.serviceKey}-${status.vortexUuid}`;
  const plugins = status.plugins ?? [];
  const linkText = status.connected ? "connected" : "disconnected";
  const body = plugins.length
    ? el(
        "table",
        { class: "data", "aria-labelledby": headingId },
        el(
          "thead",
          {},
          el("tr", {}, ["Plugin", "Version", "State", "Reason"].map((h) => el("th", { scope: "col" }, h))),
        ),
        el(
          "tbody",
          {},
          plugins.map((p) =>
            el(
              "tr",
              { "data-plugin": p.name, "data-state": p.state },
              el("th", { scope: "row" }, p.name),
              el("td", {}, p.version ?? "—"),
              el("td", {}, el("span", { class: `state state-${p.state}` }, p.state)),
              el("td", { class: "reason" }, p.reason ? el("pre", {}, p.reason) : "—"),
            ),
          ),
        ),
      )
    : el("p", {}, "No plugins are enabled on this service.");
  return el(
    "section",
    { "data-service": status.serviceKey, "aria-labelledby": headingId },
    el("h2", { id: headingId }, `${status.serviceKey} (${linkText}, ${status.host} pid ${status.pid})`),
    body,
  );
}

export function render(container) {
  const note = liveNote("plugins-note");
  const sections = el("div", { class: "service-sections" });
  container.replaceChildren(note, sections);
  let updates = 0;
  const stop = observeAdmin(
    "peek_platform.PlatformStatusTuple",
    (tuples) => {
      const services = tuples[0]?.services ?? [];
      sections.replaceChildren(
        ...(services.length ? services.map(serviceSection) : [el("p", {}, "No service has reported yet.")]),
      );
      updates += 1;
      if (updates > 1) {
        note.textContent = `Plugin states updated at ${new Date().toLocaleTimeString()}.`;
      }
    },
    (error) => container.replaceChildren(errorNote(`The plugin states are not available: ${error.message}`)),
  );
  return { stop };
}
