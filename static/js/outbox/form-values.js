// A form's answers as the body the API takes (docs/api.md), and a body written back into the form
// (re-opening a queued item, or a day the phone knows). Reads and writes the form only.

/** @typedef {import("./item.js").EntryBody} EntryBody */
/** @typedef {import("./item.js").SessionBody} SessionBody */

// "" means not answered; digits become a number; anything else is left for the server to refuse.
const intOrText = (raw) => (raw == null || String(raw).trim() === "" ? null
  : /^\d{1,5}$/.test(String(raw).trim()) ? Number(raw) : String(raw).trim());

function numberOrText(raw) {
  if (raw == null || String(raw).trim() === "") return null;
  const value = Number(String(raw).trim().replace(",", "."));
  return Number.isFinite(value) ? value : String(raw);
}

/**
 * @param {HTMLFormElement} form the log form
 * @returns {Omit<EntryBody, "client_updated_at">}
 */
export function entryBody(form) {
  const data = new FormData(form);
  const ratings = {};
  for (const group of form.querySelectorAll("[data-rating]")) {
    ratings[group.dataset.rating] = intOrText(data.get(group.dataset.rating));
  }
  return { date: data.get("date") || "", ratings,
    pie_severity: intOrText(data.get("pie_severity")), pih_severity: intOrText(data.get("pih_severity")),
    red_flags: data.getAll("red_flags"), aftercare: data.getAll("aftercare"),
    notes: data.get("notes") || "" };
}

/**
 * @param {HTMLFormElement} form the session form
 * @returns {Omit<SessionBody, "client_updated_at">}
 */
export function sessionBody(form) {
  const data = new FormData(form);
  return { date: data.get("date") || "", device: data.get("device") || "",
    needle_depth_mm: numberOrText(data.get("needle_depth_mm")),
    areas: data.getAll("areas"), topicals: data.getAll("topicals"),
    setting: data.get("setting") || "clinic", provider: data.get("provider") || "",
    notes: data.get("notes") || "" };
}

/**
 * Set each named field of `form` that `values` has (a body, with an entry's ratings spread out).
 * @param {HTMLFormElement} form
 * @param {Object<string, unknown>} values
 */
export function fill(form, values) {
  for (const element of form.elements) {
    if (!element.name || !(element.name in values) || element.type === "file") continue;
    const value = values[element.name];
    if (element.type === "checkbox") element.checked = (value || []).includes(element.value);
    else if (element.type === "radio") element.checked = String(value ?? "") === element.value;
    else if (element.type !== "hidden") element.value = value == null ? "" : String(value);
  }
}
