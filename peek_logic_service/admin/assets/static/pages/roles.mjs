// Roles: named sets of permissions, as `peek role` manages them. The table lists each role
// with its permissions; the form below creates a role or sets exactly what one grants, by
// ticking from the permissions the platform and the plugins enabled on logic declare.

import { el, errorNote } from "./live.mjs";
import { callApi, checkbox, report, statusLine, ticked } from "./identity.mjs";

class RolesPage {
  constructor(container, adminFetch) {
    this.adminFetch = adminFetch;
    this.status = statusLine("roles-status");
    this.table = el("div", { id: "roles-list" });
    this.form = el("form", { id: "role-form", class: "identity-form", novalidate: true });
    this.formStatus = statusLine("role-form-status");
    this.form.setAttribute("aria-labelledby", "role-form-heading");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    container.replaceChildren(
      el(
        "p",
        {},
        "A role is a named set of permissions; users hold roles (the same as the ",
        el("code", {}, "peek role"),
        " command). A change reaches the sessions of the users holding the role within about 30 seconds.",
      ),
      this.status,
      this.table,
      el("h2", { id: "role-form-heading" }, "Create or change a role"),
      this.form,
    );
  }

  /** Fetch the roles and the known permissions and show them. */
  async load() {
    const [roles, permissions] = await Promise.all([
      callApi(this.adminFetch, "GET", "/api/roles"),
      callApi(this.adminFetch, "GET", "/api/permissions"),
    ]);
    if (!roles.ok || !permissions.ok) {
      this.table.replaceChildren(errorNote(`The roles are not available: ${(roles.ok ? permissions : roles).data.error}`));
      return;
    }
    this.permissions = permissions.data;
    this.table.replaceChildren(
      roles.data.length ? this.rolesTable(roles.data) : el("p", {}, "No roles yet; create one below."),
    );
    if (!this.form.hasChildNodes()) {
      this.fillForm({ name: "", description: "", permissions: [] });
    }
  }

  rolesTable(roles) {
    return el(
      "table",
      { class: "data", id: "roles-table" },
      el("caption", {}, `${roles.length} role${roles.length === 1 ? "" : "s"}`),
      el(
        "thead",
        {},
        el("tr", {}, ["Name", "Description", "Permissions", "Change"].map((h) => el("th", { scope: "col" }, h))),
      ),
      el(
        "tbody",
        {},
        roles.map((role) => this.roleRow(role)),
      ),
    );
  }

  roleRow(role) {
    const edit = el("button", { type: "button", "aria-label": `Edit role ${role.name}` }, "Edit");
    edit.addEventListener("click", () => {
      this.fillForm(role);
      this.form.elements.name.focus();
    });
    const remove = el("button", { type: "button", class: "danger", "aria-label": `Delete role ${role.name}` }, "Delete");
    remove.addEventListener("click", () => this.remove(role));
    return el(
      "tr",
      { "data-role": role.name },
      el("th", { scope: "row" }, role.name),
      el("td", {}, role.description || "—"),
      el(
        "td",
        {},
        el(
          "ul",
          { class: "permission-list" },
          role.permissions.map((name) => el("li", { "data-permission": name }, el("code", {}, name))),
        ),
      ),
      el("td", { class: "role-actions" }, edit, " ", remove),
    );
  }

  /** Show `role` in the form: its name, description and permissions ticked. */
  fillForm(role) {
    const known = new Set(this.permissions.map((permission) => permission.name));
    const choices = [
      ...this.permissions.map(({ name, description }) => ({ name, note: description })),
      // A permission of a plugin no longer enabled: shown so it can be unticked.
      ...role.permissions
        .filter((name) => !known.has(name))
        .map((name) => ({ name, note: "not declared by any plugin enabled on logic" })),
    ];
    this.form.replaceChildren(
      el("label", { for: "role-name" }, "Name"),
      el("input", {
        type: "text",
        id: "role-name",
        name: "name",
        autocomplete: "off",
        "data-field": "name",
        value: role.name,
      }),
      el("p", { class: "help" }, "Saving under the name of an existing role replaces what it grants."),
      el("label", { for: "role-description" }, "Description"),
      el("input", { type: "text", id: "role-description", name: "description", value: role.description }),
      el(
        "fieldset",
        { "data-field": "permissions" },
        el("legend", {}, "Permissions"),
        choices.map(({ name, note }, index) =>
          checkbox(`permission-${index}`, "permissions", name, role.permissions.includes(name), ` — ${note}`),
        ),
      ),
      el("button", { type: "submit" }, "Save role"),
      this.formStatus,
    );
  }

  async save() {
    const body = {
      name: this.form.elements.name.value,
      permissions: ticked(this.form, "permissions"),
      description: this.form.elements.description.value,
    };
    const result = await callApi(this.adminFetch, "POST", "/api/roles", body);
    report(this.formStatus, this.form, result);
    if (result.ok) {
      await this.load();
    }
  }

  async remove(role) {
    if (!confirm(`Delete role ${role.name}? The users holding it lose it.`)) {
      return;
    }
    const result = await callApi(this.adminFetch, "POST", "/api/roles/delete", { name: role.name });
    report(this.status, null, result);
    if (result.ok) {
      await this.load();
    }
  }
}

export async function render(container, { adminFetch }) {
  await new RolesPage(container, adminFetch).load();
}
