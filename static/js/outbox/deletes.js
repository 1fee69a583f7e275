// Deleting a session or an entry goes through the outbox too, so it works with no signal: any
// <form data-delete-target="sessions|entries" data-delete-uuid data-delete-label data-delete-next>.
// The delete is queued (a DELETE by uuid, stamped now, so a later edit on another phone still
// wins), uploaded at once when online, and the row is hidden wherever the page lists it
// ([data-row-uuid]) until the server has it. Without JavaScript the form posts as plain HTML.
// confirm.js asks first; its listener runs before this one (it is loaded first).
import * as queue from "./queue.js";
import { syncForForm } from "./autosync.js";
import { requestBackgroundSync } from "./sync.js";
import { setFlash } from "./flash.js";

const account = document.querySelector('meta[name="skinlog-account"]')?.content || "";

async function queueDelete(form) {
  const { deleteTarget: target, deleteUuid: uuid, deleteLabel: label } = form.dataset;
  return queue.putWaiting({ kind: "delete", target, uuid, label },
    { client_updated_at: new Date().toISOString() }, account);
}

async function onSubmit(event, form) {
  if (event.defaultPrevented) return; // the patient said no to confirm.js's question
  event.preventDefault();
  const button = form.querySelector('button[type="submit"]');
  if (button.disabled) return;
  button.disabled = true;
  let seq;
  try {
    seq = await queueDelete(form);
  } catch {
    button.disabled = false;
    form.submit(); // no outbox here: the plain HTML post
    return;
  }
  requestBackgroundSync();
  let sent = false;
  if (navigator.onLine) {
    const result = await syncForForm();
    sent = Boolean(result && result.sent.some((done) => done.seq === seq))
      && !(await queue.get(seq));
  }
  const label = form.dataset.deleteLabel; // "the session of 19 Nov 2026"
  const subject = label.charAt(0).toUpperCase() + label.slice(1);
  setFlash(sent ? `${subject} was deleted.`
    : `${subject} was deleted on this phone. It is deleted from your account when the phone is `
      + "back online.");
  location.assign(form.dataset.deleteNext);
}

// Rows whose delete waits in the outbox are not shown: an offline copy of a list was saved before
// the delete. A hidden row stays hidden once the delete is uploaded, as the copy is still old.
async function hidePendingRows() {
  const rows = document.querySelectorAll("[data-row-uuid]");
  if (!rows.length) return;
  const pending = new Set((await queue.all())
    .filter((item) => item.kind === "delete").map((item) => item.uuid));
  for (const row of rows) if (pending.has(row.dataset.rowUuid)) row.hidden = true;
}

if ("indexedDB" in self) {
  for (const form of document.querySelectorAll("form[data-delete-uuid]")) {
    form.addEventListener("submit", (event) => onSubmit(event, form));
  }
  queue.onChange(() => { hidePendingRows().catch(() => {}); });
  hidePendingRows().catch(() => {});
}
