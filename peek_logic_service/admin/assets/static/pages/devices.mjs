// Devices: the browsers enrolled on the field and office sites, each with its state, its
// last user and whether it is online, refreshed every few seconds. "Approve" lets a
// waiting device in; "Revoke" ends its sessions (its links close) and refuses its logins.

import { el, errorNote } from "./live.mjs";
import { callApi, report, statusLine } from "./identity.mjs";
import { isoTime } from "./sessions.mjs";

const REFRESH_MILLISECONDS = 2000;

const STATE_TEXT = { approved: "approved", pending: "waiting for approval", revoked: "revoked" };

class DevicesPage {
  constructor(container, adminFetch) {
    this.adminFetch = adminFetch;
    this.status = statusLine("devices-status");
    this.list = el("div", { id: "devices-list" });
    this.shown = null;
    container.replaceChildren(
      el(
        "p",
        {},
        "Every browser that logged in to the field or office site. A site whose " +
          "deviceEnrolment is approval keeps a new device on a waiting page until it is " +
          "approved here. A device is online while one of its pages holds a link to Peek.",
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
    const result = await callApi(this.adminFetch, "GET", "/api/devices");
    if (!result.ok) {
      this.list.replaceChildren(errorNote(`The devices are not available: ${result.data.error}`));
      this.shown = null;
      return;
    }
    const text = JSON.stringify(result.data);
    if (text !== this.shown) {
      this.shown = text;
      this.list.replaceChildren(
        result.data.length ? this.table(result.data) : el("p", {}, "No device has logged in yet."),
      );
    }
  }

  table(devices) {
    return el(
      "table",
      { class: "data", id: "devices-table" },
      el("caption", {}, `${devices.length} device${devices.length === 1 ? "" : "s"}`),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["Device", "Site", "User", "State", "Online", "Browser", "Actions"].map((h) =>
            el("th", { scope: "col" }, h),
          ),
        ),
      ),
      el(
        "tbody",
        {},
        devices.map((device) => this.row(device)),
      ),
    );
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
    const result = await callApi(this.adminFetch, "POST", `/api/devices/${action}`, {
      deviceId: device.deviceId,
    });
    report(this.status, null, result);
    this.refresh();
  }
}

export function render(container, { adminFetch }) {
  const page = new DevicesPage(container, adminFetch);
  return { stop: () => page.stop() };
}
