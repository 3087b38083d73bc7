// Logged in: every live login session on every site (admin here, and what field and office
// report), refreshed every few seconds. "Force logout" ends all of a user's sessions on
// every site at once; their pages' links to Peek close (see devices_pages.py).

import { el, errorNote } from "./live.mjs";
import { callApi, report, statusLine } from "./identity.mjs";

const REFRESH_MILLISECONDS = 2000;

/** A `<time>` for an ISO date-time string. */
export function isoTime(iso) {
  const date = new Date(iso);
  return el("time", { datetime: date.toISOString() }, date.toLocaleString());
}

class SessionsPage {
  constructor(container, adminFetch) {
    this.adminFetch = adminFetch;
    this.status = statusLine("sessions-status");
    this.list = el("div", { id: "sessions-list" });
    this.shown = null;
    container.replaceChildren(
      el(
        "p",
        {},
        "Who is logged in on the admin, field and office sites now. Field and office report " +
          "their sessions every few seconds; a session whose service is cut off from logic is " +
          "not listed. Force logout ends every session of that user on every site.",
      ),
      this.status,
      this.list,
    );
    this.refresh();
    this.timer = setInterval(() => this.refresh(), REFRESH_MILLISECONDS);
  }

  stop() {
    clearInterval(this.timer);
  }

  async refresh() {
    const result = await callApi(this.adminFetch, "GET", "/api/live-sessions");
    if (!result.ok) {
      this.list.replaceChildren(errorNote(`The sessions are not available: ${result.data.error}`));
      this.shown = null;
      return;
    }
    const text = JSON.stringify(result.data);
    if (text !== this.shown) {
      this.shown = text;
      this.list.replaceChildren(
        result.data.length ? this.table(result.data) : el("p", {}, "Nobody is logged in."),
      );
    }
  }

  table(sessions) {
    return el(
      "table",
      { class: "data", id: "sessions-table" },
      el("caption", {}, `${sessions.length} live session${sessions.length === 1 ? "" : "s"}`),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["User", "Site", "Device", "Since", "Last seen", "Links", "Action"].map((h) =>
            el("th", { scope: "col" }, h),
          ),
        ),
      ),
      el(
        "tbody",
        {},
        sessions.map((session) => this.row(session)),
      ),
    );
  }

  row(session) {
    const button = el(
      "button",
      { type: "button", class: "danger", "aria-label": `Force logout ${session.user} (${session.site})` },
      "Force logout",
    );
    button.addEventListener("click", () => this.forceLogout(session));
    return el(
      "tr",
      { "data-user-id": session.userId, "data-site": session.site, "data-device": session.deviceId ?? "" },
      el("th", { scope: "row" }, session.user),
      el("td", {}, session.site),
      el("td", {}, session.deviceId ? el("code", {}, session.deviceId) : "—"),
      el("td", {}, isoTime(session.since)),
      el("td", {}, isoTime(session.lastSeen)),
      el("td", {}, String(session.links)),
      el("td", {}, button),
    );
  }

  async forceLogout(session) {
    if (!confirm(`Log ${session.user} out of every site now? Their open pages lose their link to Peek.`)) {
      return;
    }
    const result = await callApi(this.adminFetch, "POST", "/api/live-sessions/force-logout", {
      userId: session.userId,
    });
    report(this.status, null, result);
    this.refresh();
  }
}

export function render(container, { adminFetch }) {
  const page = new SessionsPage(container, adminFetch);
  return { stop: () => page.stop() };
}
