// Logs: the newest lines of the logic service's log file, updated as it grows.

import { el, errorNote, observeAdmin } from "./live.mjs";

export function render(container) {
  const source = el("p", { class: "log-source" }, "Loading…");
  const follow = el("input", { type: "checkbox", id: "logs-follow", checked: true });
  const pre = el("pre", { class: "log-lines", id: "log-lines", tabindex: "0", "aria-label": "Recent log lines" });
  const region = el("div", { role: "log", "aria-live": "polite", "aria-relevant": "additions" }, pre);
  container.replaceChildren(
    source,
    el("p", {}, follow, " ", el("label", { for: "logs-follow" }, "Keep the newest line in view")),
    region,
  );
  const stop = observeAdmin(
    "peek_logic_service.admin.LogTailTuple",
    (tuples) => {
      const tail = tuples[0];
      if (!tail) {
        return;
      }
      source.replaceChildren(
        `The last ${tail.lines.length} lines of the ${tail.serviceKey} service's log `,
        el("code", {}, tail.logPath),
        ", updated as it grows.",
      );
      pre.textContent = tail.lines.join("\n");
      if (follow.checked) {
        pre.scrollTop = pre.scrollHeight;
      }
    },
    (error) => container.replaceChildren(errorNote(`The log is not available: ${error.message}`)),
  );
  return { stop };
}
