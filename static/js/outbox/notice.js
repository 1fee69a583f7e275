// The message shown above a form after saving: one at a time, replacing the last. And a rejected
// item's reason (docs/api.md), with each refused field named by its label and marked invalid.

/** @typedef {import("./item.js").Rejection} Rejection */

/**
 * @param {HTMLFormElement} form
 * @param {string} className the box's style: "alert", "flash", "flash flash-success"
 * @param {"alert"|"status"} role
 * @param {string[]} lines one paragraph each
 */
export function notice(form, className, role, lines) {
  form.parentElement.querySelector("[data-outbox-notice]")?.remove();
  const box = document.createElement("div");
  box.className = className;
  box.setAttribute("role", role);
  box.dataset.outboxNotice = "";
  for (const line of lines) {
    const p = document.createElement("p");
    p.textContent = line;
    box.append(p);
  }
  form.before(box);
  box.scrollIntoView({ block: "center" });
}

function labelFor(form, field) {
  const id = field.replace(/^ratings\./, "");
  const label = form.querySelector(`label[for="${CSS.escape(id)}"]`);
  return label ? label.textContent.trim() : id.replace(/_/g, " ");
}

/**
 * @param {HTMLFormElement} form
 * @param {Rejection} error
 */
export function showRejection(form, error) {
  const lines = [`Not uploaded yet — ${error.what}: ${error.message}`];
  for (const [field, problem] of Object.entries(error.fields || {})) {
    if (field !== "file") lines.push(`${labelFor(form, field)}: ${problem}`);
    const input = form.querySelector(`#${CSS.escape(field.replace(/^ratings\./, ""))}`);
    if (input) input.setAttribute("aria-invalid", "true");
  }
  lines.push("Fix it below and save again, or discard it from the list at the top.");
  notice(form, "alert", "alert", lines);
}
