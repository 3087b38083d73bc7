// Config: the logic service's config.json as it is in effect, secrets masked by logic.
// Other services keep their config in their own homes; this page shows logic's only.

import { el, errorNote, observeAdmin } from "./live.mjs";

function valueCell(entry) {
  if (entry.secret) {
    return el("td", { class: "secret" }, entry.isSet ? "•••••• (hidden)" : "(not set)");
  }
  const text = typeof entry.value === "string" ? entry.value : JSON.stringify(entry.value);
  return el("td", {}, el("code", {}, text === "" ? '""' : text));
}

export function render(container) {
  const intro = el(
    "p",
    {},
    "The logic service's configuration. Other services (field, office, agent, worker) read their own ",
    el("code", {}, "config.json"),
    " in their home directories; run ",
    el("code", {}, "peek config check SERVICE"),
    " on their host to see it. Secret values are never sent to this page.",
  );
  const holder = el("div");
  container.replaceChildren(intro, holder);
  const stop = observeAdmin(
    "peek_logic_service.admin.ConfigTuple",
    (tuples) => {
      holder.replaceChildren(
        ...tuples.map((config) =>
          el(
            "section",
            { "data-service": config.serviceKey, "aria-labelledby": `config-${config.serviceKey}` },
            el("h2", { id: `config-${config.serviceKey}` }, `${config.serviceKey}: `, el("code", {}, config.configPath)),
            el(
              "table",
              { class: "data config" },
              el("caption", {}, `Config keys of the ${config.serviceKey} service`),
              el(
                "thead",
                {},
                el("tr", {}, ["Key", "Type", "Value", "Meaning"].map((h) => el("th", { scope: "col" }, h))),
              ),
              el(
                "tbody",
                {},
                config.entries.map((entry) =>
                  el(
                    "tr",
                    { "data-key": entry.key },
                    el("th", { scope: "row" }, el("code", {}, entry.key)),
                    el("td", {}, entry.type),
                    valueCell(entry),
                    el("td", {}, entry.description),
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    },
    (error) => container.replaceChildren(errorNote(`The configuration is not available: ${error.message}`)),
  );
  return { stop };
}
