// Replays one outbox item through the API, step by step: an entry's row, then each photo, then
// each photo removal; a session's row; a delete. Each acknowledged step is written back to the
// item at once, so a run cut off midway resumes where it stopped. Throws what send() throws.
import * as queue from "./queue.js";
import { API, Retry, send } from "./api.js";

/** @typedef {import("./item.js").OutboxItem} OutboxItem */

async function sendEntry(ctx, item) {
  if (!item.row_done) {
    const mergeIntoExisting = async ({ status, data }) => {
      const error = data && data.error;
      if (status !== 409 || !error || error.code !== "date_taken" || !error.existing_id) {
        return null;
      }
      // The day already has an entry (made on another device): merge into it; the later edit
      // wins by client_updated_at on the server.
      const existing = error.existing_id;
      await queue.update(item.seq, (stored) => { stored.uuid = existing; return true; });
      item.uuid = existing;
      return "again";
    };
    const answer = await send(ctx, "PUT",
      () => ({ url: `${API}/entries/${item.uuid}`, json: item.body }), "The entry",
      mergeIntoExisting);
    if (answer.data.id !== item.uuid) throw new Retry("unexpected answer");
    const rev = item.rev;
    await queue.update(item.seq, (stored) => {
      if (stored.rev !== rev) return false; // edited meanwhile: send the new version next time
      stored.row_done = true;
      return true;
    });
  }
  for (const photo of item.photos || []) {
    if (photo.done) continue;
    const form = new FormData();
    form.append("area", photo.area);
    form.append("file", new Blob([photo.data], { type: photo.type }), photo.name || "photo.jpg");
    const label = `Photo (${photo.area.replace("_", " ")})`;
    const answer = await send(ctx, "PUT",
      () => ({ url: `${API}/entries/${item.uuid}/photos/${photo.uuid}`, form }), label);
    if (answer.data.id !== photo.uuid) throw new Retry("unexpected answer");
    await queue.update(item.seq, (stored) => {
      const mine = (stored.photos || []).find((p) => p.uuid === photo.uuid);
      if (!mine) return false;
      mine.done = true;
      mine.data = null; // the server has it: free the phone's space
      return true;
    });
  }
  for (const gone of item.photo_deletes || []) {
    if (gone.done) continue;
    await send(ctx, "DELETE",
      () => ({ url: `${API}/entries/${item.uuid}/photos/${gone.uuid}` }), "A photo removal");
    await queue.update(item.seq, (stored) => {
      const mine = (stored.photo_deletes || []).find((p) => p.uuid === gone.uuid);
      if (mine) mine.done = true;
      return Boolean(mine);
    });
  }
}

async function sendSession(ctx, item) {
  const answer = await send(ctx, "PUT",
    () => ({ url: `${API}/sessions/${item.uuid}`, json: item.body }), "The session");
  if (answer.data.id !== item.uuid) throw new Retry("unexpected answer");
}

// A delete queued on this phone (deletes.js): a tombstone by uuid, stamped when it was tapped.
async function sendDelete(ctx, item) {
  const stamp = encodeURIComponent(item.body.client_updated_at);
  // 404: the row is not in this account (already gone, or it never reached the server): what the
  // patient asked for holds, and asking again would never change the answer.
  const alreadyGone = ({ status }) => (status === 404 ? "done" : null);
  await send(ctx, "DELETE",
    () => ({ url: `${API}/${item.target}/${item.uuid}?client_updated_at=${stamp}` }),
    `Deleting ${item.label}`, alreadyGone);
}

/**
 * Whether the server has all of `item`, as it was at `rev`: nothing to send any more.
 * @param {OutboxItem} item
 * @param {number} rev
 */
export function complete(item, rev) {
  return item.rev === rev
    && (item.kind !== "entry" || item.row_done)
    && (item.photos || []).every((p) => p.done)
    && (item.photo_deletes || []).every((p) => p.done);
}

/**
 * Send every step of `item` the server does not have yet.
 * @param {{token: string, account: string}} ctx the run's CSRF token (send renews it) and account
 * @param {OutboxItem} item
 */
export function replay(ctx, item) {
  if (item.kind === "entry") return sendEntry(ctx, item);
  if (item.kind === "delete") return sendDelete(ctx, item);
  return sendSession(ctx, item);
}
