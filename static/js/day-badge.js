// The Log form's "Day N after session K" badge follows its date field, online and offline, from
// the session dates the page carries (data-session-dates): the last session on or before the
// day, as webapp/progress.py SessionCalendar.align counts.
const badge = document.querySelector("[data-day-badge]");
const dateInput = document.querySelector("form[data-entry-form]")?.elements.date;

/**
 * @param {string} day YYYY-MM-DD
 * @param {string[]} sessionDates YYYY-MM-DD each
 * @returns {string} e.g. "Day 3 after session 2"
 */
export function dayAfterSession(day, sessionDates) {
  const before = [...sessionDates].sort().filter((session) => session <= day);
  if (!before.length) return "Before first session";
  const days = Math.round((Date.parse(day) - Date.parse(before.at(-1))) / 86_400_000);
  return `Day ${days} after session ${before.length}`;
}

function update() {
  const day = dateInput.value;
  const valid = /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(Date.parse(day));
  badge.hidden = !valid;
  if (valid) badge.textContent = dayAfterSession(day, JSON.parse(badge.dataset.sessionDates || "[]"));
}

if (badge && dateInput) {
  update(); // the offline form may have been opened on another day (?date=, forms.js)
  dateInput.addEventListener("input", update);
  dateInput.addEventListener("change", update);
}
