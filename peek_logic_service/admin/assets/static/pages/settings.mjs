// Settings: every setting the loaded plugins declare, with its type, default, meaning and
// current value. A value is checked against its type here and again by logic, then saved;
// the plugin reads it with pluginSettings.get(). Each field reports its own success or error.

import { el, errorNote, liveNote, observeAdmin, pushAdminAction } from "./live.mjs";

/** `{ok: true, value}` or `{ok: false, message}` for the text (or checkbox state) entered. */
export function parseSettingValue(type, raw) {
  if (type === "bool") {
    return { ok: true, value: Boolean(raw) };
  }
  if (type === "str") {
    return { ok: true, value: String(raw) };
  }
  const text = String(raw).trim();
  if (type === "int") {
    if (!/^[-+]?\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      return { ok: false, message: "Enter a whole number, such as 42." };
    }
    return { ok: true, value: Number(text) };
  }
  if (type === "float") {
    const value = Number(text);
    if (text === "" || !Number.isFinite(value)) {
      return { ok: false, message: "Enter a number, such as 2.5." };
    }
    return { ok: true, value };
  }
  return { ok: false, message: `Unknown setting type ${type}.` };
}

function shown(value) {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function fieldId(setting) {
  return `setting-${setting.pluginName}-${setting.name}`.replace(/[^A-Za-z0-9_-]/g, "-");
}

class SettingField {
  constructor(setting) {
    this.setting = setting;
    const id = fieldId(setting);
    this.input =
      setting.type === "bool"
        ? el("input", { type: "checkbox", id, name: setting.name })
        : el("input", {
            type: "text",
            id,
            name: setting.name,
            inputmode: setting.type === "int" ? "numeric" : setting.type === "float" ? "decimal" : null,
            "aria-describedby": `${id}-help ${id}-status`,
          });
    if (setting.type === "bool") {
      this.input.setAttribute("aria-describedby", `${id}-help ${id}-status`);
    }
    this.current = el("span", { class: "current-value" });
    this.status = el("p", { id: `${id}-status`, class: "field-status", role: "status", "aria-live": "polite" });
    this.form = el(
      "form",
      { class: "setting", "data-plugin": setting.pluginName, "data-setting": setting.name, novalidate: true },
      el("label", { for: id }, setting.name, " ", el("span", { class: "type" }, `(${setting.type})`)),
      this.input,
      el("button", { type: "submit" }, "Save"),
      el(
        "div",
        { id: `${id}-help`, class: "help" },
        el("p", {}, setting.description),
        el("p", {}, "Default: ", el("code", {}, shown(setting.default)), " · Current: ", this.current),
      ),
      this.status,
    );
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    this.shownValue = undefined;
    this.update(setting);
  }

  inputValue() {
    return this.setting.type === "bool" ? this.input.checked : this.input.value;
  }

  setInput(value) {
    if (this.setting.type === "bool") {
      this.input.checked = Boolean(value);
    } else {
      this.input.value = String(value);
    }
    this.shownValue = this.inputValue();
  }

  /** New data from logic: the current value always, the input unless being edited. */
  update(setting) {
    this.setting = setting;
    this.current.textContent = `${shown(setting.value)}${setting.isDefault ? " (default)" : ""}`;
    if (this.shownValue === undefined || this.inputValue() === this.shownValue) {
      this.setInput(setting.value);
    }
  }

  report(ok, message) {
    this.status.textContent = message;
    this.status.className = `field-status ${ok ? "ok" : "error"}`;
    this.input.setAttribute("aria-invalid", ok ? "false" : "true");
  }

  async save() {
    const parsed = parseSettingValue(this.setting.type, this.inputValue());
    if (!parsed.ok) {
      this.report(false, parsed.message);
      this.input.focus();
      return;
    }
    this.report(true, "Saving…");
    try {
      const [saved] = await pushAdminAction("setPluginSetting", {
        pluginName: this.setting.pluginName,
        name: this.setting.name,
        value: parsed.value,
      });
      this.setInput(saved.value);
      this.update(saved);
      this.report(true, `Saved: ${shown(saved.value)}.`);
    } catch (error) {
      this.report(false, `Not saved: ${error.remoteMessage ?? error.message}`);
    }
  }
}

export function render(container) {
  const note = liveNote("settings-note");
  const list = el("div", { class: "plugin-settings" });
  container.replaceChildren(
    el("p", {}, "Settings the plugins declare in plugin_package.json. A saved value reaches the plugin at once."),
    note,
    list,
  );
  const fields = new Map();
  let keys = "";
  const stop = observeAdmin(
    "peek_logic_service.admin.PluginSettingTuple",
    (tuples) => {
      const newKeys = tuples.map((t) => `${t.pluginName}/${t.name}`).join("|");
      if (newKeys !== keys) {
        keys = newKeys;
        fields.clear();
        const byPlugin = new Map();
        for (const setting of tuples) {
          const field = new SettingField(setting);
          fields.set(`${setting.pluginName}/${setting.name}`, field);
          if (!byPlugin.has(setting.pluginName)) {
            byPlugin.set(setting.pluginName, { title: setting.pluginTitle, forms: [] });
          }
          byPlugin.get(setting.pluginName).forms.push(field.form);
        }
        list.replaceChildren(
          ...(byPlugin.size
            ? [...byPlugin].map(([name, { title, forms }]) =>
                el(
                  "section",
                  { "data-plugin": name, "aria-labelledby": `plugin-${name}` },
                  el("h2", { id: `plugin-${name}` }, `${title} (${name})`),
                  forms,
                ),
              )
            : [el("p", {}, "No loaded plugin declares settings.")]),
        );
        return;
      }
      for (const setting of tuples) {
        fields.get(`${setting.pluginName}/${setting.name}`)?.update(setting);
      }
      note.textContent = `Settings updated at ${new Date().toLocaleTimeString()}.`;
    },
    (error) => container.replaceChildren(errorNote(`The plugin settings are not available: ${error.message}`)),
  );
  return { stop };
}
