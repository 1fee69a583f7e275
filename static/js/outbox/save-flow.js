// Saving a form: queue it, then try to upload it at once and say what happened. Uploaded: on to
// the saved entry (or the sessions) with a message for that page (flash.js). Otherwise the form
// stays, saying it waits on this phone, was refused (and why), or waits for a login. Without an
// outbox at all, the plain HTML form posts instead.
import * as queue from "./queue.js";
import { syncForForm } from "./autosync.js";
import { requestBackgroundSync } from "./sync.js";
import { setFlash } from "./flash.js";
import { queueForm } from "./form-queue.js";
import { notice, showRejection } from "./notice.js";

/** @typedef {import("./item.js").OutboxItem} OutboxItem */

// Uploaded: on to the page a plain post would have led to, with the message it would have shown:
// a warning when warning signs were reported, in the server's words (the form carries them, from
// vocabulary.RED_FLAG_ADVICE, which webapp/diary/routes.py flashes too).
function afterUpload(form, kind, uuid, body) {
  if (kind === "entry" && body.red_flags.length) {
    setFlash(form.dataset.redFlagAdvice, "warning");
  } else {
    setFlash(kind === "entry" ? "Saved." : "Treatment session saved.");
  }
  location.assign(kind === "entry" ? `/entries/${uuid}` : "/sessions");
}

/**
 * @param {HTMLFormElement} form
 * @param {"entry"|"session"} kind
 * @param {{fixing: OutboxItem|null}} state the item this page edits (set once it is queued)
 */
export async function saveAndUpload(form, kind, state) {
  let seq;
  try {
    seq = await queueForm(form, kind, state.fixing);
  } catch (error) {
    if (navigator.onLine) { form.submit(); return; } // no outbox here: plain HTML post
    notice(form, "alert", "alert", [`Could not keep this on the phone (${error.message}).`]);
    return;
  }
  // Saving again from this page edits the same queued item.
  state.fixing = await queue.get(seq);
  const body = state.fixing.body;
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  requestBackgroundSync();
  for (const input of form.querySelectorAll('input[type="file"]')) {
    input.value = "";
    input.dispatchEvent(new Event("change")); // photo-picker.js drops its preview
  }
  const saved = () => notice(form, "flash flash-success", "status", [
    "Saved on this phone. It uploads by itself when you are back online."]);
  if (!navigator.onLine) { saved(); return; }
  const result = await syncForForm();
  const still = await queue.get(seq);
  const sent = result && result.sent.find((done) => done.seq === seq);
  if (!still && sent) { afterUpload(form, kind, sent.uuid, body); return; }
  if (still && still.state === "rejected") showRejection(form, still.error);
  else if (result && result.stopped === "auth") {
    notice(form, "alert", "alert", ["Saved on this phone. You are logged out: log in to upload it."]);
  } else saved();
}
