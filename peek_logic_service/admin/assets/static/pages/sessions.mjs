// Logged in: every live login session on every site (admin here, and what field and office
// report), refreshed every few seconds. "Force logout" ends all of a user's sessions on
// every site at once; their pages' links to Peek close (see devices_pages.py).

import { el } from "./live.mjs";
import { PolledTablePage } from "./identity.mjs";

/** A `<time>` for an ISO date-time string. */
export function isoTime(iso) {
  const date = new Date(iso);
  return el("time", { datetime: date.toISOString() }, date.toLocaleString());
}

class SessionsPage extends PolledTablePage {
  constructor(container, adminFetch) {
    super(container, adminFetch, {
      name: "sessions",
      path: "/api/live-sessions",
      intro:
        "Who is logged in on the admin, field and office sites now. Field and office report " +
        "their sessions every few seconds; a session whose service is cut off from logic is " +
        "not listed. Force logout ends every session of that user on every site.",
      empty: "Nobody is logged in.",
      noun: "live session",
      headings: ["User", "Site", "Device", "Since", "Last seen", "Links", "Action"],
    });
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
    await this.post("/api/live-sessions/force-logout", { userId: session.userId });
  }
}

export function render(container, { adminFetch }) {
  const page = new SessionsPage(container, adminFetch);
  return { stop: () => page.stop() };
}
