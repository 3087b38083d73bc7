// The noop plugin's admin page: its settings (HTTP API), its items (vortex CRUD) and which
// roles grant its edit permission (the admin site's roles API).
//
// Settings: GET /peek_plugin_noop/api/settings lists them; POST {name, value} sets one and
// must carry the session's anti-forgery token in X-CSRF-Token (from /api/session).
// Items: the ORM CRUD handler on logic (NoopItemTableHandler.py), reached through the
// admin site's vortex; its filt must equal ITEM_EDIT_FILT.
// Permission: GET /api/roles lists the roles ({name, description, permissions}); POST
// /api/roles {name, permissions} makes the permissions exactly what a role grants, with
// the same X-CSRF-Token; GET /api/permissions describes each permission a role may grant.

import { Tuple, VortexClient, registerTupleType } from "/vortex/js/index.js";

const SETTINGS_URL = "/peek_plugin_noop/api/settings";
const ITEM_EDIT_FILT = { key: "admin.Edit.NoopItemTuple", plugin: "peek_plugin_noop" };
/** What a user needs to change item values (plugin_package.json; PluginNames.py). */
const EDIT_PERMISSION = "peek_plugin_noop.edit";

/** One row of the NoopItem table (the columns of _private/storage/NoopItem.py). */
class NoopItemTuple extends Tuple {
  static tupleType = "peek_plugin_noop.NoopItemTuple";
  static tupleFields = { id: null, name: "", value: 0, lastChangedBy: null };
}
registerTupleType(NoopItemTuple);

const message = document.getElementById("message");

function showMessage(text) {
  message.textContent = text;
}

// ---- settings --------------------------------------------------------------------

async function csrfToken() {
  const response = await fetch("/api/session", { credentials: "same-origin" });
  return (await response.json()).csrfToken ?? "";
}

function settingInput(setting) {
  const input = document.createElement("input");
  input.id = `setting-${setting.name}`;
  input.name = setting.name;
  if (setting.type === "bool") {
    input.type = "checkbox";
    input.checked = setting.value;
  } else {
    input.type = setting.type === "str" ? "text" : "number";
    if (setting.type === "int") input.step = "1";
    if (setting.type === "float") input.step = "any";
    input.value = String(setting.value);
    input.required = setting.type !== "str";
  }
  return input;
}

function inputValue(setting, input) {
  if (setting.type === "bool") return input.checked;
  if (setting.type === "str") return input.value;
  return Number(input.value);
}

function settingForm(setting) {
  const form = document.createElement("form");
  form.className = "setting";
  const label = document.createElement("label");
  label.htmlFor = `setting-${setting.name}`;
  label.textContent = setting.name;
  const input = settingInput(setting);
  const description = document.createElement("p");
  description.className = "setting-description";
  description.id = `setting-${setting.name}-description`;
  description.textContent = `${setting.description} (default: ${setting.default})`;
  input.setAttribute("aria-describedby", description.id);
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = `Save ${setting.name}`;
  form.append(label, " ", input, " ", save, description);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch(SETTINGS_URL, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": await csrfToken() },
      body: JSON.stringify({ name: setting.name, value: inputValue(setting, input) }),
    });
    const body = await response.json();
    showMessage(response.ok ? `Saved ${setting.name}.` : `Not saved: ${body.error}`);
  });
  return form;
}

async function loadSettings() {
  const container = document.getElementById("settings");
  const response = await fetch(SETTINGS_URL, { credentials: "same-origin" });
  if (!response.ok) {
    container.textContent = `The settings could not be loaded (${response.status}).`;
    return;
  }
  container.replaceChildren(...(await response.json()).map(settingForm));
}

// ---- edit permission -------------------------------------------------------------

/** GET `url` from the admin site: `{ok, status, data}`; a refusal's `data` is `{error}`. */
async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  return { ok: response.ok, status: response.status, data: await response.json().catch(() => ({})) };
}

/** Make `permissions` exactly what `role` grants (its description is kept). */
async function setRolePermissions(role, permissions) {
  const response = await fetch("/api/roles", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": await csrfToken() },
    body: JSON.stringify({ name: role.name, permissions }),
  });
  return { ok: response.ok, data: await response.json().catch(() => ({})) };
}

function roleRow(role) {
  const grants = role.permissions.includes(EDIT_PERMISSION);
  const row = document.createElement("tr");
  row.dataset.role = role.name;
  const cell = (content) => {
    const td = document.createElement("td");
    td.append(content);
    return td;
  };
  const change = document.createElement("button");
  change.type = "button";
  change.textContent = grants ? "Revoke" : "Grant";
  change.setAttribute(
    "aria-label",
    `${grants ? "Revoke" : "Grant"} ${EDIT_PERMISSION} ${grants ? "from" : "to"} role ${role.name}`,
  );
  change.addEventListener("click", async () => {
    const permissions = grants
      ? role.permissions.filter((name) => name !== EDIT_PERMISSION)
      : [...role.permissions, EDIT_PERMISSION];
    change.disabled = true;
    const result = await setRolePermissions(role, permissions);
    showRolesStatus(result.ok ? `Done: ${result.data.message}.` : `Not changed: ${result.data.error}.`);
    await loadRoles();
  });
  row.append(
    cell(role.name),
    cell(role.description),
    cell(grants ? "Yes" : "No"),
    cell(change),
  );
  return row;
}

function showRolesStatus(text) {
  document.getElementById("roles-status").textContent = text;
}

/** Show each role with whether it grants the edit permission, and the permission's meaning. */
async function loadRoles() {
  const body = document.getElementById("roles");
  const [roles, permissions] = await Promise.all([getJson("/api/roles"), getJson("/api/permissions")]);
  if (!roles.ok || !permissions.ok) {
    const failed = roles.ok ? permissions : roles;
    body.replaceChildren();
    showRolesStatus(`The roles could not be loaded (${failed.status}): ${failed.data.error ?? "no answer"}.`);
    return;
  }
  const declared = permissions.data.find((permission) => permission.name === EDIT_PERMISSION);
  document.getElementById("edit-permission-description").textContent = declared
    ? declared.description
    : "Not known to logic: enable this plugin on the logic service.";
  body.replaceChildren(...roles.data.map(roleRow));
  document.getElementById("roles-empty").hidden = roles.data.length > 0;
}

// ---- items -----------------------------------------------------------------------

/** The browser side of an OrmCrudHandler: load, save and delete with one answer each. */
class TupleLoader {
  constructor(vortex, filt) {
    this._vortex = vortex;
    this._filt = filt;
    this._waiting = new Map();
    this._counter = 0;
    vortex.addEndpoint({ ...filt, op: "response" }, (payload) => this._answered(payload));
  }

  load() {
    return this._request("retrieve", []);
  }

  save(tuples) {
    return this._request("save", tuples);
  }

  del(tuples) {
    return this._request("delete", tuples);
  }

  _request(op, tuples) {
    const msgId = `noop-admin-${++this._counter}`;
    return new Promise((resolve, reject) => {
      this._waiting.set(msgId, { resolve, reject });
      try {
        this._vortex.send({ ...this._filt, op, msgId }, tuples);
      } catch (error) {
        this._waiting.delete(msgId);
        reject(error);
      }
    });
  }

  _answered({ filt, tuples, result }) {
    const waiting = this._waiting.get(filt.msgId);
    if (waiting === undefined) return;
    this._waiting.delete(filt.msgId);
    if (result?.error) waiting.reject(new Error(`${result.type}: ${result.message}`));
    else waiting.resolve(tuples);
  }
}

let items = [];
let itemsToDelete = [];

function itemRow(item, index) {
  const row = document.createElement("tr");
  const cell = (element) => {
    const td = document.createElement("td");
    td.append(element);
    return td;
  };
  const name = document.createElement("input");
  name.value = item.name;
  name.required = true;
  name.setAttribute("aria-label", `Name of item ${index + 1}`);
  name.addEventListener("input", () => { item.name = name.value; });
  const value = document.createElement("input");
  value.type = "number";
  value.step = "1";
  value.value = String(item.value);
  value.setAttribute("aria-label", `Value of item ${index + 1}`);
  value.addEventListener("input", () => { item.value = Number(value.value); });
  const remove = document.createElement("button");
  remove.type = "button";
  remove.textContent = "Remove";
  remove.setAttribute("aria-label", `Remove item ${index + 1} (${item.name || "new"})`);
  remove.addEventListener("click", () => {
    if (item.id !== null) itemsToDelete.push(item);
    items = items.filter((other) => other !== item);
    renderItems();
  });
  // Logic records the changer when the items are saved (this admin, if they changed it).
  const changedBy = item.id === null ? "" : (item.lastChangedBy ?? "a service");
  row.append(cell(name), cell(value), cell(changedBy), cell(remove));
  return row;
}

function renderItems() {
  document.getElementById("items").replaceChildren(...items.map(itemRow));
}

function showItems(tuples) {
  items = tuples;
  itemsToDelete = [];
  renderItems();
}

async function main() {
  loadSettings().catch((error) => showMessage(`Settings: ${error.message}`));
  loadRoles().catch((error) => showRolesStatus(`Roles: ${error.message}`));

  const vortex = new VortexClient({ vortexName: "peek-admin-app" });
  const loader = new TupleLoader(vortex, ITEM_EDIT_FILT);
  const reload = async () => showItems(await loader.load());
  // Load once the link is up (and again after each reconnect).
  vortex.onStatus(({ online }) => {
    if (online) reload().catch((error) => showMessage(`Items: ${error.message}`));
  });

  document.getElementById("add-item").addEventListener("click", () => {
    items.push(new NoopItemTuple());
    renderItems();
  });
  document.getElementById("reload-items").addEventListener("click", () => {
    reload().then(() => showMessage("Reloaded."), (error) => showMessage(error.message));
  });
  document.getElementById("save-items").addEventListener("click", async () => {
    try {
      // Save first, then delete: each request waits for the answer of the one before.
      const deleting = itemsToDelete;
      let saved = await loader.save(items);
      if (deleting.length) {
        await loader.del(deleting);
        saved = await loader.load();
      }
      showItems(saved);
      showMessage("Saved.");
    } catch (error) {
      showMessage(`Not saved: ${error.message}`);
    }
  });
}

main();
