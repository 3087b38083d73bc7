// Logs: the newest lines of the logic service's log file, updated as it grows, and the
// "Download diagnostics" button (GET /api/diagnostics: one zip of every linked service).

import { el, errorNote, observeAdmin } from "./live.mjs";

/** The button that fetches the diagnostics zip and saves it, with a status line. */
function diagnosticsDownload(adminFetch) {
  const status = el("span", { id: "diagnostics-status", role: "status" });
  const button = el("button", { type: "button", id: "diagnostics-download" }, "Download diagnostics");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = " Collecting from every linked service…";
    try {
      const response = await adminFetch("/api/diagnostics");
      if (!response.ok) {
        const answer = await response.json().catch(() => ({}));
        throw new Error(answer.error ?? `HTTP ${response.status}`);
      }
      const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "");
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: name ? name[1] : "peek-diagnostics.zip" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      status.textContent = ` Saved ${link.download}.`;
    } catch (error) {
      status.textContent = ` Diagnostics failed: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return el(
    "p",
    { class: "diagnostics" },
    button,
    status,
    el("br"),
    "One zip of every linked service's config (secrets redacted), recent log lines, versions, " +
      "plugins, links, thread stacks and metrics, for support.",
  );
}

export function render(container, context = {}) {
  const source = el("p", { class: "log-source" }, "Loading…");
  const follow = el("input", { type: "checkbox", id: "logs-follow", checked: true });
  const pre = el("pre", { class: "log-lines", id: "log-lines", tabindex: "0", "aria-label": "Recent log lines" });
  const region = el("div", { role: "log", "aria-live": "polite", "aria-relevant": "additions" }, pre);
  container.replaceChildren(
    diagnosticsDownload(context.adminFetch ?? fetch),
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
