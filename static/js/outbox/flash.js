// A message for the next page: a form that saved (or a delete) leaves it before moving on, and
// status.js shows it once on the page that opens. Its level picks the style, as the server's
// flash categories do: "success" (told quietly, role status) or "warning" (role alert).
const KEY = "skinlog-flash";
const LEVELS = ["success", "warning"];

/**
 * @typedef {object} Flash
 * @property {string} message
 * @property {"success"|"warning"} level
 */

/**
 * @param {string} message
 * @param {Flash["level"]} [level]
 */
export function setFlash(message, level = "success") {
  sessionStorage.setItem(KEY, JSON.stringify({ message, level }));
}

/**
 * The message left for this page, if any: taken, so it is shown once.
 * @returns {Flash|null}
 */
export function takeFlash() {
  const stored = sessionStorage.getItem(KEY);
  if (!stored) return null;
  sessionStorage.removeItem(KEY);
  let flash;
  try {
    flash = JSON.parse(stored);
  } catch {
    flash = { message: stored }; // left by the app's previous version: plain text
  }
  if (!flash || !flash.message) return null;
  const level = LEVELS.includes(flash.level) ? flash.level : "success";
  return { message: String(flash.message), level };
}
