// Devices: the browsers enrolled on the field and office sites, each with its state, its
// last user and whether it is online, refreshed every few seconds. "Approve" lets a
// waiting device in; "Revoke" ends its sessions (its links close) and refuses its logins.

import { el } from "./live.mjs";
import { PolledTablePage } from "./identity.mjs";
import { isoTime } from "./sessions.mjs";

const STATE_TEXT = { approved: "approved", pending: "waiting for approval", revoked: "revoked" };

class DevicesPage extends PolledTablePage {
  constructor(container, adminFetch) {
    super(container, adminFetch, {
      name: "devices",
      path: "/api/devices",
      intro:
        "Every browser that logged in to the field or office site. A site whose " +
        "deviceEnrolment is approval keeps a new device on a waiting page until it is " +
        "approved here. A device is online while one of its pages holds a link to Peek.",
      empty: "No device has logged in yet.",
      noun: "device",
      headings: ["Device", "Site", "User", "State", "Online", "Browser", "Actions"],
    });
  }

  row(device) {
    const actions = [];
    if (device.state !== "approved") {
      const approve = el("button", { type: "button", "aria-label": `Approve device ${device.deviceId}` }, "Approve");
      approve.addEventListener("click", () => this.change(device, "approve"));
      actions.push(approve);
    }
    if (device.state !== "revoked") {
      const revoke = el(
        "button",
        { type: "button", class: "danger", "aria-label": `Revoke device ${device.deviceId}` },
        "Revoke",
      );
      revoke.addEventListener("click", () => this.change(device, "revoke"));
      actions.push(revoke);
    }
    return el(
      "tr",
      { "data-device": device.deviceId, "data-state": device.state, "data-online": String(device.online) },
      el("th", { scope: "row" }, el("code", {}, device.deviceId)),
      el("td", {}, device.site),
      el("td", {}, device.user ?? "—"),
      el("td", {}, el("span", { class: `state state-${device.state}` }, STATE_TEXT[device.state] ?? device.state)),
      el("td", { class: "device-online" }, device.online ? "online" : ["offline, last seen ", isoTime(device.lastSeen)]),
      el("td", { class: "device-browser" }, device.description || "—"),
      el("td", { class: "device-actions" }, actions.length ? actions : "—"),
    );
  }

  async change(device, action) {
    if (
      action === "revoke" &&
      !confirm(`Revoke device ${device.deviceId}? Its sessions end now and it can no longer log in.`)
    ) {
      return;
    }
    await this.post(`/api/devices/${action}`, { deviceId: device.deviceId });
  }
}

export function render(container, { adminFetch }) {
  const page = new DevicesPage(container, adminFetch);
  return { stop: () => page.stop() };
}
