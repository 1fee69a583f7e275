// A saved form becomes an outbox item (item.js): the log form an entry with its photos (shrunk on
// the phone) and photo removals, the session form a session. Saving again edits the same item:
// the one being fixed, else the one queued for that day (entries) or row.
import * as queue from "./queue.js";
import { shrinkPhoto } from "./photos.js";
import { entryBody, sessionBody } from "./form-values.js";

/** @typedef {import("./item.js").OutboxItem} OutboxItem */

const account = document.querySelector('meta[name="skinlog-account"]')?.content || "";

function newUuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function photosFrom(form) {
  const photos = [];
  for (const input of form.querySelectorAll('input[type="file"][name^="photo_"]')) {
    const file = input.files && input.files[0];
    if (!file) continue;
    const area = form.elements[`${input.name}_area`]?.value || "other";
    photos.push({ uuid: newUuid(), area, done: false, ...(await shrinkPhoto(file)) });
  }
  return photos;
}

async function queueEntry(form, fixing) {
  const body = { ...entryBody(form), client_updated_at: new Date().toISOString() };
  const newPhotos = await photosFrom(form);
  const existing = fixing || await queue.findFor("entry", { date: body.date });
  const known = form.dataset.entryDate === body.date ? form.dataset.entryId : null;
  const item = existing || { kind: "entry", uuid: known || newUuid(), photos: [], photo_deletes: [] };
  const dropped = new Set(new FormData(form).getAll("remove_queued"));
  const removals = new FormData(form).getAll("remove_photo").map((uuid) => ({ uuid, done: false }));
  item.photos = [...(item.photos || []).filter((p) => !dropped.has(p.uuid)), ...newPhotos];
  item.photo_deletes = [...(item.photo_deletes || []), ...removals];
  return finish(item, body);
}

async function queueSession(form, fixing) {
  const body = { ...sessionBody(form), client_updated_at: new Date().toISOString() };
  const item = fixing || { kind: "session", uuid: form.dataset.sessionId || newUuid() };
  return finish(item, body);
}

function finish(item, body) {
  item.row_done = false; // the entry itself must be sent again
  return queue.putWaiting(item, body, account);
}

/**
 * Queue what `form` holds, waiting to upload; resolves with the item's seq.
 * @param {HTMLFormElement} form
 * @param {"entry"|"session"} kind
 * @param {OutboxItem|null} fixing the queued item the form edits, if any
 * @returns {Promise<number>}
 */
export function queueForm(form, kind, fixing) {
  return kind === "entry" ? queueEntry(form, fixing) : queueSession(form, fixing);
}
