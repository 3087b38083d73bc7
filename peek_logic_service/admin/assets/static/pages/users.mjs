// Users: the platform's local users, as `peek user` manages them. The table lists each
// user with whether it is enabled and its roles; "Change" opens its controls (enable or
// disable, roles, a new password, delete); the form below adds a user.

import { el, errorNote } from "./live.mjs";
import { callApi, checkbox, report, say, statusLine, ticked } from "./identity.mjs";

/** The two password fields of a form, labelled; `data-field` marks them for errors. */
function passwordFields(idPrefix, label) {
  return [
    el("label", { for: `${idPrefix}-password` }, label),
    el("input", {
      type: "password",
      id: `${idPrefix}-password`,
      name: "password",
      autocomplete: "new-password",
      "data-field": "password",
    }),
    el("label", { for: `${idPrefix}-repeat` }, "Repeat the password"),
    el("input", { type: "password", id: `${idPrefix}-repeat`, name: "repeat", autocomplete: "new-password" }),
  ];
}

/** The password of `form`, or null after saying in `status` that the two entries differ. */
function enteredPassword(form, status) {
  const password = form.elements.password.value;
  if (password !== form.elements.repeat.value) {
    say(status, false, "Not changed: the two passwords differ.");
    form.elements.repeat.value = "";
    form.elements.repeat.focus();
    return null;
  }
  return password;
}

/** A fieldset of one checkbox per role, those in `held` ticked. */
function roleChoices(idPrefix, roles, held) {
  return el(
    "fieldset",
    { "data-field": "roles" },
    el("legend", {}, "Roles"),
    roles.length
      ? roles.map((role, index) =>
          checkbox(
            `${idPrefix}-role-${index}`,
            "roles",
            role.name,
            held.includes(role.name),
            role.description ? ` — ${role.description}` : "",
          ),
        )
      : el("p", {}, "No roles yet: create one on the Roles page."),
  );
}

class UsersPage {
  constructor(container, adminFetch) {
    this.adminFetch = adminFetch;
    this.status = statusLine("users-status");
    this.table = el("div", { id: "users-list" });
    this.addForm = el("form", { id: "add-user-form", class: "identity-form", novalidate: true });
    this.addStatus = statusLine("add-user-status");
    this.addForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addUser();
    });
    container.replaceChildren(
      el(
        "p",
        {},
        "The platform's local users, kept in the logic service's database (the same as the ",
        el("code", {}, "peek user"),
        " command). A user may do what the permissions of its roles allow; only users holding ",
        el("code", {}, "admin"),
        " can use this site.",
      ),
      this.status,
      this.table,
      el("h2", { id: "add-user-heading" }, "Add a user"),
      this.addForm,
    );
    this.addForm.setAttribute("aria-labelledby", "add-user-heading");
  }

  /** Fetch the users and roles and show them (the add form is built once). */
  async load() {
    const [users, roles] = await Promise.all([
      callApi(this.adminFetch, "GET", "/api/users"),
      callApi(this.adminFetch, "GET", "/api/roles"),
    ]);
    if (!users.ok || !roles.ok) {
      this.table.replaceChildren(errorNote(`The users are not available: ${(users.ok ? roles : users).data.error}`));
      return;
    }
    this.roles = roles.data;
    this.table.replaceChildren(
      users.data.length ? this.usersTable(users.data) : el("p", {}, "No users yet; add one below."),
    );
    if (!this.addForm.hasChildNodes()) {
      this.fillAddForm();
    }
  }

  usersTable(users) {
    return el(
      "table",
      { class: "data", id: "users-table" },
      el("caption", {}, `${users.length} local user${users.length === 1 ? "" : "s"}`),
      el(
        "thead",
        {},
        el("tr", {}, ["Name", "Enabled", "Roles", "Source", "Change"].map((h) => el("th", { scope: "col" }, h))),
      ),
      el(
        "tbody",
        {},
        users.map((user, index) => this.userRow(user, index)),
      ),
    );
  }

  userRow(user, index) {
    const idPrefix = `user-${index}`;
    const toggle = el("button", { type: "button" }, user.enabled ? "Disable" : "Enable");
    toggle.addEventListener("click", () =>
      this.change(null, "/api/users/enabled", { name: user.name, enabled: !user.enabled }),
    );
    const rolesForm = el(
      "form",
      { class: "identity-form", novalidate: true },
      roleChoices(idPrefix, this.roles, user.roles),
      el("button", { type: "submit" }, "Save roles"),
    );
    rolesForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.change(rolesForm, "/api/users/roles", { name: user.name, roles: ticked(rolesForm, "roles") });
    });
    const passwordForm = el(
      "form",
      { class: "identity-form", novalidate: true },
      passwordFields(idPrefix, "New password"),
      el("button", { type: "submit" }, "Set password"),
    );
    passwordForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const password = enteredPassword(passwordForm, this.status);
      if (password !== null) {
        this.change(passwordForm, "/api/users/password", { name: user.name, password });
      }
    });
    const remove = el("button", { type: "button", class: "danger" }, "Delete user");
    remove.addEventListener("click", () => {
      if (confirm(`Delete user ${user.name}? Its roles go with it; this cannot be undone.`)) {
        this.change(null, "/api/users/delete", { name: user.name });
      }
    });
    return el(
      "tr",
      { "data-user": user.name, "data-enabled": String(user.enabled) },
      el("th", { scope: "row" }, user.name),
      el("td", {}, user.enabled ? "yes" : "no"),
      el("td", { class: "user-roles" }, user.roles.length ? user.roles.join(", ") : "—"),
      el("td", {}, user.source),
      el(
        "td",
        {},
        el(
          "details",
          {},
          el("summary", {}, `Change ${user.name}`),
          el("div", { class: "user-actions" }, toggle, rolesForm, passwordForm, remove),
        ),
      ),
    );
  }

  /** The add form: name, password twice and the roles to hold. */
  fillAddForm() {
    this.addForm.replaceChildren(
      el("label", { for: "new-user-name" }, "Name"),
      el("input", {
        type: "text",
        id: "new-user-name",
        name: "name",
        autocomplete: "off",
        "data-field": "name",
      }),
      el("p", { class: "help" }, "No spaces; case matters (Alice and alice are two users)."),
      ...passwordFields("new-user", "Password"),
      roleChoices("new-user", this.roles, []),
      el("button", { type: "submit" }, "Add user"),
      this.addStatus,
    );
  }

  async addUser() {
    const form = this.addForm;
    const password = enteredPassword(form, this.addStatus);
    if (password === null) {
      return;
    }
    const body = { name: form.elements.name.value, password, roles: ticked(form, "roles") };
    const result = await callApi(this.adminFetch, "POST", "/api/users", body);
    report(this.addStatus, form, result);
    if (result.ok) {
      form.reset();
      await this.load();
    }
  }

  /** Send one change; its outcome goes to the page status; a success reloads the list. */
  async change(form, path, body) {
    const result = await callApi(this.adminFetch, "POST", path, body);
    report(this.status, form, result);
    if (result.ok) {
      await this.load();
    }
  }
}

export async function render(container, { adminFetch }) {
  await new UsersPage(container, adminFetch).load();
}
